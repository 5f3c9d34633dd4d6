from django.urls import path

from sales import views
from sales.views import booking
from sales.views.availability import availability
from sales.views.board import board, board_move
from sales.views.saved_views import delete_view, save_view

app_name = "sales"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("live/", views.live, name="live"),
    path("views/", save_view, name="save_view"),
    path("views/<int:view_id>/delete/", delete_view, name="delete_view"),
    path("metrics/", views.metrics, name="metrics"),
    path("board/", board, name="board"),
    path("board/leads/<int:lead_id>/move/", board_move, name="board_move"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead"),
    path("leads/<int:lead_id>/score/", views.lead_score, name="lead_score"),
    path("leads/<int:lead_id>/claim/", views.take, name="take"),
    path("leads/<int:lead_id>/reassign/", views.reassign, name="reassign"),
    path("leads/<int:lead_id>/stage/", views.move_stage, name="move_stage"),
    path("leads/<int:lead_id>/notes/", views.add_note, name="add_note"),
    path("leads/<int:lead_id>/sequences/stop/", views.stop_sequence, name="stop_sequence"),
    path("availability/", availability, name="availability"),
    path("leads/<int:lead_id>/tasks/", views.add_task, name="add_task"),
    path("tasks/<int:task_id>/complete/", views.complete_task, name="complete_task"),
    path("leads/<int:lead_id>/sequences/pause/", views.pause_sequence, name="pause_sequence"),
]

# The prospect's booking pages, at /book/ in a namespace of their own ("booking"): reached
# from a signed link, not behind the sales login as the pages above are.
booking_urlpatterns = [
    # A rep's private calendar feed, to subscribe to from Google Calendar or Outlook.
    path("feed/<str:token>/consultations.ics", booking.rep_feed, name="rep_feed"),
    path("<str:token>/", booking.book, name="book"),
    path("<str:token>/cancel/", booking.cancel, name="cancel"),
    path("<str:token>/invite.ics", booking.invite, name="invite"),
]
