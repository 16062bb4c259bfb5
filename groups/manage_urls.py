"""Owner and admin pages under /groups/<code>/manage/ (R9.2)."""

from django.urls import path

from groups import views_manage

urlpatterns = [
    path("", views_manage.manage_members, name="group-manage"),
    path("members/<int:user_id>/", views_manage.manage_member_action, name="group-manage-member"),
    path("requests/", views_manage.manage_requests, name="group-manage-requests"),
    path("settings/", views_manage.manage_settings, name="group-manage-settings"),
    path("announcement/", views_manage.manage_announcement, name="group-manage-announcement"),
    path("dissolve/", views_manage.manage_dissolve, name="group-manage-dissolve"),
    path("log/", views_manage.manage_log, name="group-manage-log"),
    path("invite/", views_manage.manage_invite, name="group-manage-invite"),
    path("messages/<int:seq>/", views_manage.manage_message_action, name="group-manage-message"),
]
