from django.urls import path

from groups import api

urlpatterns = [
    path("groups/", api.GroupListApi.as_view(), name="api-groups"),
    path("groups/<group_code:code>/messages/", api.MessageApi.as_view(), name="api-messages"),
]
