"""The demo host's adapter: integrations belong to teams (accounts.Team). A member sees and uses
the connections of the team they are working in (chosen on the integrations page); only a team's
admins may disconnect or remove one; a notice goes to the member who connected it while they are
in the team, else to the team's admins, in the language each chose on the site."""

from integrations.adapter import DefaultAdapter

from .models import Membership, Team

ADMIN_ONLY = {"disconnect", "remove"}


class TeamAdapter(DefaultAdapter):
    def owners_for(self, user):
        if not user.is_authenticated:
            return Team.objects.none()
        return Team.objects.filter(memberships__user=user).order_by("pk")

    def owner_display(self, owner) -> str:
        return owner.name

    def owner_search_fields(self) -> list[str]:
        return ["owner__name"]

    def user_may(self, user, integration, action) -> bool:
        role = self._roles(user).get(integration.owner_id)
        if role is None:
            return False
        return role == Membership.Role.ADMIN or action not in ADMIN_ONLY

    @staticmethod
    def _roles(user) -> dict:
        """{team id: role} of a user, read once per user object (a page asks for every card)."""
        roles = getattr(user, "_team_roles", None)
        if roles is None:
            roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
            if user.is_authenticated:
                user._team_roles = roles
        return roles

    def user_language(self, user) -> str:
        """The language the user chose with the site's switcher, else the site's."""
        return getattr(user, "language", "") or super().user_language(user)

    def owner_admins(self, owner) -> list:
        return [m.user for m in owner.memberships.filter(role=Membership.Role.ADMIN)
                .select_related("user").order_by("pk")]
