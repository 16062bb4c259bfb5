"""The banner of the platform's measures on a group (R11.1), on its chat page and its management pages."""

from django import template

from groups import selectors

register = template.Library()


@register.inclusion_tag("groups/_restriction_banner.html")
def group_restriction_banner(group):
    """Warnings before their rectification deadline, posting suspensions before their end, a closure."""
    return {"group": group, "restrictions": selectors.group_restrictions_in_force(group) if group else []}
