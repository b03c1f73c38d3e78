"""factory_boy factories for the rows tests need; tickets are opened through the real services."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tickets.models import AgentProfile, ContactKind, ContactPoint, Customer, Organization, Tier
from tickets.roles import ADMINS_GROUP, AGENTS_GROUP, LEADS_GROUP, LIGHT_AGENTS_GROUP

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(user, create, extracted, **kwargs):
        if create:
            user.save()


class AgentFactory(UserFactory):
    """A staff user in the Agents group with an agent profile in the given tier levels."""

    is_staff = True

    @factory.post_generation
    def tiers(user, create, extracted, **kwargs):
        if not create:
            return
        user.groups.add(Group.objects.get(name=AGENTS_GROUP))
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        levels = extracted if extracted is not None else [1]
        profile.tiers.set(Tier.objects.filter(level__in=levels))


class LeadFactory(AgentFactory):
    """An agent who is also in the Leads group (a lead works tickets in their tiers)."""

    @factory.post_generation
    def lead(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=LEADS_GROUP))


class LightAgentFactory(AgentFactory):
    """A staff user in the Light agents group only, with an agent profile in the tiers."""

    @factory.post_generation
    def light(user, create, extracted, **kwargs):
        if create:
            user.groups.set([Group.objects.get(name=LIGHT_AGENTS_GROUP)])


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True

    @factory.post_generation
    def group(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=ADMINS_GROUP))


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")


class EmailContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(CustomerFactory)
    kind = ContactKind.EMAIL
    value = factory.Sequence(lambda n: f"customer{n}@example.com")
