from django.urls import path

from groups import views, views_emergency, views_files

urlpatterns = [
    path("", views.home, name="home"),
    path("groups/new/", views.group_create, name="group-create"),
    path("groups/<group_code:code>/", views.group_chat, name="group-chat"),
    path("groups/<group_code:code>/invite/", views.group_invite, name="group-invite"),
    path("groups/<group_code:code>/search/", views.group_search, name="group-search"),
    path("groups/<group_code:code>/messages/<int:seq>/recall/", views.message_recall, name="message-recall"),
    path("groups/<group_code:code>/leave/", views.group_leave, name="group-leave"),
    path("join/<invite_token:token>/", views.group_join, name="group-join"),
    path("invitations/", views.invitations, name="invitations"),
    path("files/<str:token>/", views_files.attachment_open, name="attachment"),
    path(
        "files/<str:token>/thumb/",
        views_files.attachment_open,
        {"variant": "thumb"},
        name="attachment-thumbnail",
    ),
    path("files/<str:token>/raw/", views_files.attachment_raw, name="attachment-raw"),
    path("invitations/<int:pk>/respond/", views.invitation_respond, name="invitation-respond"),
]

compliance_urlpatterns = [
    path("groups/requests/", views.group_requests, name="group-requests"),
    path(
        "groups/requests/<group_code:code>/decide/", views.group_request_decide, name="group-request-decide"
    ),
    # R5.1: emergency measures (supervisors declare and end them; staff see them).
    path("emergency/", views_emergency.emergency_measures, name="emergency-measures"),
    path("emergency/<int:pk>/end/", views_emergency.emergency_measure_end, name="emergency-measure-end"),
]
