from django.urls import path

from groups import views

urlpatterns = [
    path("", views.home, name="home"),
    path("groups/new/", views.group_create, name="group-create"),
    path("groups/<str:code>/", views.group_chat, name="group-chat"),
    path("groups/<str:code>/invite/", views.group_invite, name="group-invite"),
    path("groups/<str:code>/leave/", views.group_leave, name="group-leave"),
    path("join/<str:token>/", views.group_join, name="group-join"),
]
