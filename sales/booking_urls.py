from django.urls import path

from sales import booking

app_name = "booking"
urlpatterns = [
    path("<str:token>/", booking.book, name="book"),
    path("<str:token>/cancel/", booking.cancel, name="cancel"),
    path("<str:token>/invite.ics", booking.invite, name="invite"),
]
