from django.urls import path

from capture import views

app_name = "capture"
urlpatterns = [
    path("l/<slug:slug>/", views.landing_page, name="landing_page"),
    path("l/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("l/<slug:slug>/embed/", views.landing_page_embed, name="embed"),
    path("l/<slug:slug>/embed/thanks/", views.thanks_embed, name="thanks_embed"),
    path("l/<slug:slug>/image/<str:name>/", views.page_image, name="image"),
]
