from django.urls import path

from groups import api

MEMBER = "groups/<group_code:code>/members/<int:user_id>/"

urlpatterns = [
    path("groups/", api.GroupListApi.as_view(), name="api-groups"),
    path("groups/<group_code:code>/messages/", api.MessageApi.as_view(), name="api-messages"),
    path(
        "groups/<group_code:code>/messages/search/",
        api.MessageSearchApi.as_view(),
        name="api-messages-search",
    ),
    path(
        "groups/<group_code:code>/messages/<int:seq>/recall/",
        api.MessageRecallApi.as_view(),
        name="api-message-recall",
    ),
    path("groups/<group_code:code>/read/", api.GroupReadApi.as_view(), name="api-group-read"),
    path("groups/<group_code:code>/files/", api.MessageFileApi.as_view(), name="api-message-file"),
    # Management (R8.5, R9.2): owners and admins; the same services as the manage pages.
    path("groups/<group_code:code>/members/", api.MemberListApi.as_view(), name="api-members"),
    path(f"{MEMBER}mute/", api.MemberMuteApi.as_view(), name="api-member-mute"),
    path(f"{MEMBER}unmute/", api.MemberUnmuteApi.as_view(), name="api-member-unmute"),
    path(f"{MEMBER}remove/", api.MemberRemoveApi.as_view(), name="api-member-remove"),
    path(f"{MEMBER}admin/", api.MemberAdminApi.as_view(), name="api-member-admin"),
    path("groups/<group_code:code>/join-requests/", api.JoinRequestApi.as_view(), name="api-join-requests"),
    path(
        "groups/<group_code:code>/join-requests/<int:pk>/decide/",
        api.JoinRequestDecideApi.as_view(),
        name="api-join-request-decide",
    ),
    path("groups/<group_code:code>/settings/", api.GroupSettingsApi.as_view(), name="api-group-settings"),
    path(
        "groups/<group_code:code>/announcement/",
        api.GroupAnnouncementApi.as_view(),
        name="api-group-announcement",
    ),
    path(
        "groups/<group_code:code>/messages/<int:seq>/remove/",
        api.MessageRemoveApi.as_view(),
        name="api-message-remove",
    ),
    path("groups/<group_code:code>/pinned/", api.GroupPinnedApi.as_view(), name="api-group-pinned"),
    path("groups/<group_code:code>/invitations/", api.InvitationCreateApi.as_view(), name="api-invitations"),
    path("invitations/", api.MyInvitationsApi.as_view(), name="api-my-invitations"),
    path("invitations/<int:pk>/respond/", api.InvitationRespondApi.as_view(), name="api-invitation-respond"),
]
