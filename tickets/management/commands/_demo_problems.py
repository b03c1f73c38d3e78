"""Demo data of issue 25: the products catalog, customers' services in two regions, and a
burst of tickets alike from one region (a spike the agents are told of on their first
visit: make a problem of it, publish a known issue, solve it). Idempotent."""

from knowledge.models import Article
from tickets import services
from tickets.catalog.services import service_save
from tickets.inbound import InboundMessage, IngestOutcome
from tickets.models import Channel, ContactKind, Product, ProductPlan, Service

PRODUCTS = {
    "Acme Connect": {
        "description": "The VPN client and gateways.",
        "plans": ["Business", "Enterprise"],
        "articles": ["acme-connect-disconnects-every-few-minutes", "acme-connect-error-codes"],
    },
    "Acme Cloud": {
        "description": "The hosted workspace: sync, reports and exports.",
        "plans": ["Team", "Business"],
        "articles": ["slow-or-stuck-sync", "export-a-report", "bulk-export-over-50000-rows"],
    },
}
# name, email, product, plan, identifier, region
SERVICES = [
    ("Jonas Weber", "jonas.weber", "Acme Connect", "Business", "AC-EU-1001", "EU-West"),
    ("Léa Martin", "lea.martin", "Acme Connect", "Business", "AC-EU-1002", "EU-West"),
    ("Piotr Nowak", "piotr.nowak", "Acme Connect", "Enterprise", "AC-EU-1003", "EU-West"),
    ("Sofia Rossi", "sofia.rossi", "Acme Connect", "Business", "AC-EU-1004", "EU-West"),
    ("Emma Jansen", "emma.jansen", "Acme Connect", "Business", "AC-EU-1005", "EU-West"),
    ("Lucas Dubois", "lucas.dubois", "Acme Connect", "Enterprise", "AC-EU-1006", "EU-West"),
    ("Noah Smith", "noah.smith", "Acme Connect", "Business", "AC-US-2001", "US-East"),
    ("Ava Johnson", "ava.johnson", "Acme Cloud", "Team", "CL-US-3001", "US-East"),
    ("Karin Berg", "karin.berg", "Acme Connect", "Business", "AC-EU-1007", "EU-West"),
]
# The burst: six customers of the EU-West gateway write within minutes, each their own way.
BURST = [
    ("jonas.weber", "VPN will not connect", "Error 809 since 10:00, licence AC-EU-1001."),
    ("lea.martin", "Cannot connect to VPN", "We cannot reach the VPN this morning (AC-EU-1002)."),
    ("piotr.nowak", "Acme Connect down?", "Gateway timeout for all 40 users on AC-EU-1003."),
    ("sofia.rossi", "VPN connection fails", "Error 809 when connecting. Subscription AC-EU-1004."),
    ("emma.jansen", "vpn not working", "Nobody in the office can connect, account AC-EU-1005."),
    ("lucas.dubois", "Urgent: VPN outage", "Connection drops at once with error 809 - AC-EU-1006"),
]
EMAIL = "{}@example.com"


def load_catalog_and_burst() -> int:
    """Products, services and the burst; the number of burst tickets opened now."""
    products = {name: _product(name, spec) for name, spec in PRODUCTS.items()}
    for name, who, product, plan, identifier, region in SERVICES:
        _service(products[product], plan, name, EMAIL.format(who), identifier, region)
    opened = 0
    for number, (who, subject, text) in enumerate(BURST, start=1):
        result = services.ticket_open(
            inbound=InboundMessage(
                channel=Channel.EMAIL,
                sender_kind=ContactKind.EMAIL,
                sender=EMAIL.format(who),
                subject=subject,
                text=text,
                external_id=f"demo-burst-{number}",
            ),
            tier_level=1,
        )
        opened += result.outcome == IngestOutcome.NEW
    return opened


def _product(name: str, spec: dict) -> Product:
    product, _ = Product.objects.get_or_create(
        name=name, defaults={"description": spec["description"]}
    )
    for plan in spec["plans"]:
        ProductPlan.objects.get_or_create(product=product, name=plan)
    product.articles.add(*Article.objects.filter(slug__in=spec["articles"]))
    return product


def _service(
    product: Product, plan: str, name: str, email: str, identifier: str, region: str
) -> None:
    if Service.objects.filter(product=product, identifier=identifier).exists():
        return
    customer = services.customer_get_or_create_for_contact(
        kind=ContactKind.EMAIL, value=email, name=name
    )
    service_save(
        service=None,
        product=product,
        plan=ProductPlan.objects.get(product=product, name=plan),
        customer=customer,
        identifier=identifier,
        region=region,
        actor=None,
    )
