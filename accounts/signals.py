"""Every new user gets a team of their own (they are its admin), named in the language of the
request that signs them up (a stored name, not translated later)."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.own_team")
def own_team(sender, instance, created, raw=False, **kwargs):
    from .models import Membership, Team

    if created and not raw:
        name = gettext("{username}'s team").format(username=instance.get_username())
        team = Team.objects.create(name=name[:100])
        Membership.objects.create(team=team, user=instance, role=Membership.Role.ADMIN)
