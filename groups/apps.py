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
