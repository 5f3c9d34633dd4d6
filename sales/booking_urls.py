from django.urls import path

from sales import booking

app_name = "booking"
urlpatterns = [
    # A rep's private calendar feed, to subscribe to from Google Calendar or Outlook.
    path("feed/<str:token>/consultations.ics", booking.rep_feed, name="rep_feed"),
    path("<str:token>/", booking.book, name="book"),
    path("<str:token>/cancel/", booking.cancel, name="cancel"),
    path("<str:token>/invite.ics", booking.invite, name="invite"),
]
