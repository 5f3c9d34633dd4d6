from django.urls import path

from nurture import views

app_name = "nurture"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/preferences/", views.preferences, name="preferences"),
    path("c/<str:token>/", views.confirm, name="confirm"),
    path("t/o/<str:token>.gif", views.track_open, name="open"),
    path("t/c/<str:token>/", views.track_click, name="click"),
    path("email-test/<slug:kind>/", views.test_link, name="test_link"),
    path("sms/twilio/inbound/", views.sms_inbound, name="sms_inbound"),
    path("sms/twilio/status/", views.sms_status, name="sms_status"),
]
