"""Problems in the workspace: the list with the recent spikes, a problem's page (its
tickets, notes, known issue and solving), and linking a ticket from its own page. The
rules are tickets.problems' services; these views parse, call and shape."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from tickets import placeholders
from tickets.catalog import services as catalog
from tickets.errors import DomainError
from tickets.ids import id_from
from tickets.models import Problem, Product, Service, Spike, Ticket
from tickets.problems import known_issues, spikes
from tickets.problems import selectors as problem_selectors
from tickets.problems import services as problems
from tickets.selectors import ticket_id_from_reference
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required, works_tickets_required
from tickets.workspace.problem_forms import KnownIssueForm, LinkForm, ProblemForm, SolveForm


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    side = sidebar.sidebar(_user(request), now=timezone.now())
    # Light agents read problems and note on them; the rest is for those who work tickets.
    works = sidebar.agent_setup(_user(request)).may("work_tickets")
    context = {**side, "view": "problems", "works_tickets": works, **context}
    return render(request, template, context, status=status)


def _problem_or_404(problem_id: int) -> Problem:
    problem = problem_selectors.problem_detail(problem_id)
    if problem is None:
        raise Http404("No such problem.")
    return problem


def _done(request: HttpRequest, action: Callable[[], Any], said: str) -> bool:
    """Run one service call; a refusal comes back as an error message."""
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, said)
    return True


# --- The list --------------------------------------------------------------------------------


@agent_required
@require_safe
def problems_home(request: HttpRequest) -> HttpResponse:
    return _problems_home(request, ProblemForm())


def _problems_home(request: HttpRequest, form: ProblemForm, status: int = 200) -> HttpResponse:
    """The list, with the new problem's form (as posted, when it was refused)."""
    showing = request.GET.get("status", "open")
    if showing not in ("open", "solved", "all"):
        showing = "open"
    return _page(
        request,
        "agent/problems/home.html",
        status=status,
        problems=problem_selectors.problem_list(status=showing)[:100],
        showing=showing,
        spikes=problem_selectors.recent_spikes(now=timezone.now())[:20],
        form=form,
    )


@agent_required
@works_tickets_required
@require_POST
def problem_new(request: HttpRequest) -> HttpResponse:
    form = ProblemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A new problem needs a title (up to 200 characters)."))
        return _problems_home(request, form, status=400)
    data = form.cleaned_data
    problem = problems.problem_create(
        title=data["title"],
        actor=_user(request),
        product=data["product"],
        region=data["region"],
        public_explanation=data["public_explanation"],
        owner=data["owner"],
    )
    messages.success(request, _("Opened %(reference)s.") % {"reference": problem.reference})
    return redirect("agent:problem", problem_id=problem.pk)


@agent_required
@works_tickets_required
@require_POST
def spike_problem(request: HttpRequest, spike_id: int) -> HttpResponse:
    """The one click from a spike to a problem with its tickets linked."""
    spike = get_object_or_404(Spike, pk=spike_id)
    problem = spikes.spike_problem(spike=spike, actor=_user(request))
    messages.success(
        request, _("%(reference)s links the spike's tickets.") % {"reference": problem.reference}
    )
    return redirect("agent:problem", problem_id=problem.pk)


@agent_required
@works_tickets_required
@require_POST
def spike_dismiss(request: HttpRequest, spike_id: int) -> HttpResponse:
    spikes.spike_dismiss(spike=get_object_or_404(Spike, pk=spike_id), actor=_user(request))
    messages.success(request, _("Spike dismissed."))
    return redirect("agent:problems")


# --- A problem's page ------------------------------------------------------------------------


def _problem_page(
    request: HttpRequest, problem: Problem, status: int = 200, **forms: Any
) -> HttpResponse:
    issue = getattr(problem, "known_issue", None)
    publish = forms.pop("publish", None) or KnownIssueForm(
        initial={
            "title": issue.title if issue else problem.title,
            "summary": issue.summary if issue else problem.public_explanation,
            "products": [p.pk for p in issue.products.all()]
            if issue
            else ([problem.product_id] if problem.product_id else []),
            "regions": ", ".join(issue.regions) if issue else problem.region,
            "expected_fix_at": issue.expected_fix_at if issue else None,
        }
    )
    return _page(
        request,
        "agent/problems/problem.html",
        status=status,
        problem=problem,
        known_issue=issue,
        counts=problem_selectors.problem_counts(problem),
        asked_to_be_told=problem_selectors.asked_to_be_told(problem) if issue else 0,
        tickets=problem_selectors.problem_tickets(problem),
        history=problem_selectors.problem_history(problem),
        form=forms.pop("form", None) or ProblemForm.of(problem),
        publish_form=publish,
        solve_form=forms.pop("solve", None) or SolveForm(),
        link_form=LinkForm(),
        answer_placeholders=placeholders.listing(placeholders.IN_REPLIES),
    )


@agent_required
@require_safe
def problem_page(request: HttpRequest, problem_id: int) -> HttpResponse:
    return _problem_page(request, _problem_or_404(problem_id))


def _back(problem: Problem) -> HttpResponse:
    return redirect("agent:problem", problem_id=problem.pk)


@agent_required
@works_tickets_required
@require_POST
def problem_edit(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem_or_404(problem_id)
    form = ProblemForm(request.POST)
    if not form.is_valid():
        return _problem_page(request, problem, status=400, form=form)
    data = form.cleaned_data
    changes = {name: data[name] for name in ("title", "owner", "product", "region")}
    changes["public_explanation"] = data["public_explanation"].strip()
    if data["status"]:
        changes["status"] = data["status"]
    _done(
        request,
        lambda: problems.problem_change(problem=problem, actor=_user(request), **changes),
        _("Saved."),
    )
    return _back(problem)


def _on_problem(
    request: HttpRequest, problem_id: int, action: Callable[[Problem, User], Any], said: str
) -> HttpResponse:
    """Run one service on the problem as this agent, and back to its page."""
    problem = _problem_or_404(problem_id)
    _done(request, lambda: action(problem, _user(request)), said)
    return _back(problem)


@agent_required
@require_POST
def problem_note(request: HttpRequest, problem_id: int) -> HttpResponse:
    text = request.POST.get("text", "")
    return _on_problem(
        request,
        problem_id,
        lambda problem, actor: problems.problem_note(problem=problem, actor=actor, text=text),
        _("Note added."),
    )


@agent_required
@works_tickets_required
@require_POST
def problem_link(request: HttpRequest, problem_id: int) -> HttpResponse:
    """Link tickets named by reference ("HD-12, HD-13 HD-20")."""
    problem = _problem_or_404(problem_id)
    form = LinkForm(request.POST)
    words = form.data.get("references", "").replace(",", " ").split() if form.is_valid() else []
    ids = [ticket_id_from_reference(word) for word in words]
    unknown = [word for word, pk in zip(words, ids, strict=True) if pk is None]
    tickets = list(Ticket.objects.filter(pk__in=[pk for pk in ids if pk is not None]))
    missing = len({pk for pk in ids if pk is not None}) - len(tickets)
    if not words or unknown or missing:
        messages.error(
            request,
            _("Name the tickets to link by reference, like HD-12, HD-13.")
            + (
                " " + _("Not a ticket: %(words)s.") % {"words": ", ".join(unknown)}
                if unknown
                else ""
            )
            + (" " + _("%(count)d of them do not exist.") % {"count": missing} if missing else ""),
        )
        return _back(problem)
    _link(request, problem, tickets)
    return _back(problem)


def _link(request: HttpRequest, problem: Problem, tickets: list[Ticket]) -> None:
    try:
        outcome = problems.problem_link(problem=problem, tickets=tickets, actor=_user(request))
    except DomainError as error:
        messages.error(request, error.message)
        return
    if outcome.linked:
        n = len(outcome.linked)
        messages.success(
            request,
            ngettext(
                "Linked %(count)d ticket to %(reference)s.",
                "Linked %(count)d tickets to %(reference)s.",
                n,
            )
            % {"count": n, "reference": problem.reference},
        )
    if outcome.already:
        messages.info(request, _("%(count)d were linked already.") % {"count": outcome.already})
    for reference, why in outcome.refused.items():
        messages.error(
            request,
            _("%(reference)s was not linked: %(why)s.") % {"reference": reference, "why": why},
        )


@agent_required
@works_tickets_required
@require_POST
def known_issue_publish(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem_or_404(problem_id)
    form = KnownIssueForm(request.POST)
    if not form.is_valid():
        return _problem_page(request, problem, status=400, publish=form)
    data = form.cleaned_data
    _done(
        request,
        lambda: known_issues.known_issue_publish(
            problem=problem,
            actor=_user(request),
            title=data["title"],
            summary=data["summary"],
            products=list(data["products"]),
            regions=form.region_list(),
            expected_fix_at=data["expected_fix_at"],
        ),
        _(
            "Published: customers see it on the help center, the contact form, the chat and "
            "the status page."
        ),
    )
    return _back(problem)


@agent_required
@works_tickets_required
@require_POST
def known_issue_end(request: HttpRequest, problem_id: int) -> HttpResponse:
    return _on_problem(
        request,
        problem_id,
        lambda problem, actor: known_issues.known_issue_end(problem=problem, actor=actor),
        _("The known issue is no longer shown."),
    )


@agent_required
@works_tickets_required
@require_POST
def problem_solve(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = _problem_or_404(problem_id)
    form = SolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write the answer every linked customer gets."))
        return _problem_page(request, problem, status=400, solve=form)
    count = problem_selectors.problem_counts(problem)["open"]
    _done(
        request,
        lambda: problems.problem_solve(
            problem=problem, actor=_user(request), answer=form.cleaned_data["answer"]
        ),
        ngettext(
            "%(reference)s solved: its %(count)d open ticket is being answered on the "
            "customer's channel and resolved.",
            "%(reference)s solved: its %(count)d open tickets are being answered on each "
            "customer's channel and resolved.",
            count,
        )
        % {"reference": problem.reference, "count": count},
    )
    return _back(problem)


# --- From a ticket's page --------------------------------------------------------------------


@agent_required
@works_tickets_required
@require_POST
def ticket_problem(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Link the ticket to an open problem, or to a new one titled here, or unlink it."""
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    back = redirect("agent:ticket", ticket_id=ticket.pk)
    actor = _user(request)
    if request.POST.get("unlink"):
        _done(request, lambda: problems.problem_unlink(ticket=ticket, actor=actor), _("Unlinked."))
        return back
    title = request.POST.get("title", "").strip()
    if title:
        _done(
            request,
            lambda: problems.problem_create(
                title=title, actor=actor, tickets=[ticket], product=ticket.product
            ),
            _("Opened a problem with this ticket linked."),
        )
        return back
    problem_id = id_from(request.POST.get("problem", ""))
    problem = Problem.objects.filter(pk=problem_id).first() if problem_id else None
    if problem is None:
        messages.error(request, _("Choose the problem to link to, or give a new problem's title."))
        return back
    _link(request, problem, [ticket])
    return back


@agent_required
@works_tickets_required
@require_POST
def ticket_about(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """What the ticket is about: "service:<id>", "product:<id>" or "" (nothing said)."""
    ticket = get_object_or_404(Ticket.objects.select_related("customer"), pk=ticket_id)
    kind, _colon, value = request.POST.get("about", "").partition(":")
    product = service = None
    chosen = id_from(value)
    if kind == "service" and chosen:
        service = Service.objects.select_related("product").filter(pk=chosen).first()
    elif kind == "product" and chosen:
        product = Product.objects.filter(pk=chosen).first()
    if kind and product is None and service is None:
        messages.error(request, _("Choose one of the customer's services or a product."))
        return redirect("agent:ticket", ticket_id=ticket.pk)
    _done(
        request,
        lambda: catalog.ticket_set_about(
            ticket=ticket, product=product, service=service, actor=_user(request)
        ),
        _("Saved."),
    )
    return redirect("agent:ticket", ticket_id=ticket.pk)
