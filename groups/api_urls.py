from django.urls import path

from groups import api

urlpatterns = [
    path("groups/", api.GroupListApi.as_view(), name="api-groups"),
    path("groups/<str:code>/messages/", api.MessageApi.as_view(), name="api-messages"),
]
