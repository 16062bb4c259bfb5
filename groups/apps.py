from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"

    def ready(self):
        from django.urls import register_converter

        from groups.converters import GroupCodeConverter, InviteTokenConverter

        register_converter(GroupCodeConverter, "group_code")
        register_converter(InviteTokenConverter, "invite_token")

        from groups.selectors import group_keys_joined
        from notifications.selectors import register_group_resolver

        register_group_resolver(group_keys_joined)

        from audit.services import register_retention_purger
        from groups.services import messages_purge_expired

        register_retention_purger("removed_messages", messages_purge_expired)
