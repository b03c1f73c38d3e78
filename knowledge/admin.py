"""Admin for the knowledge base: every article save goes through the service (revisions)."""

from collections import Counter
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from knowledge import services
from knowledge.models import (
    Article,
    ArticleFeedback,
    ArticleRevision,
    ArticleTranslation,
    Category,
    CategoryTranslation,
    Deflection,
    SearchLog,
    Synonym,
)


def _actor(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class SynonymForm(forms.ModelForm):
    class Meta:
        model = Synonym
        fields = ["words"]

    def clean_words(self) -> str:
        words: str = self.cleaned_data["words"]
        services.synonym_words_check([w.strip() for w in words.split(",") if w.strip()])
        return words


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    """Words readers and articles use for one thing; a change re-indexes every article."""

    form = SynonymForm
    list_display = ["words", "updated_at"]
    search_fields = ["words"]


def _translation_language_choices() -> list[tuple[str, str]]:
    # The knowledge base's own language is the category's own name.
    names = dict(settings.LANGUAGES)
    return [("", "---------")] + [
        (code, str(names[code])) for code in services.translation_languages()
    ]


class CategoryTranslationForm(forms.ModelForm):
    language = forms.ChoiceField(choices=_translation_language_choices)

    class Meta:
        model = CategoryTranslation
        fields = ["language", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class CategoryTranslationInline(admin.TabularInline):
    """The category's name and description in the help center's other languages (README
    "Languages"): readers of that language see them."""

    model = CategoryTranslation
    form = CategoryTranslationForm
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "position"]
    list_filter = ["parent"]
    list_select_related = ["parent"]  # a subtopic's parent, in the same query
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ["name"]
    inlines = [CategoryTranslationInline]

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        data = form.cleaned_data
        services.category_save(
            category=obj,
            name=data["name"],
            slug=data["slug"],
            parent=data.get("parent"),
            description=data.get("description") or "",
            position=data.get("position") or 0,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not CategoryTranslation:
            super().save_formset(request, form, formset, change)
            return
        translations = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            deleted.delete()
        for translation in translations:
            services.category_translation_save(
                translation=translation,
                category=form.instance,
                language=translation.language,
                name=translation.name,
                description=translation.description,
            )


class ArticleRevisionInline(admin.TabularInline):
    model = ArticleRevision
    fields = ["number", "title", "author", "created_at"]
    readonly_fields = ["number", "title", "author", "created_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleRevision]:
        # Each row names its article (the change link) and its author: one query for all.
        return super().get_queryset(request).select_related("article", "author")


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = [  # the admin's, but for what it shows read only
            "title", "slug", "category", "summary", "body_markdown", "tags", "search_words",
            "status", "visibility", "author", "last_reviewed_at",
        ]  # fmt: skip

    def clean_tags(self) -> str:
        """The tags as the article will keep them, so the length checked is the one saved."""
        tags = services.tags_as_saved(self.cleaned_data["tags"])
        limit = Article._meta.get_field("tags").max_length or 0
        if len(tags) > limit:
            raise forms.ValidationError(
                gettext(
                    "Too long once the tags are separated by “, ”: %(length)d characters, "
                    "%(limit)d at most."
                )
                % {"length": len(tags), "limit": limit}
            )
        return tags


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = ["title", "category", "status", "visibility", "updated_at", "view_count"]
    list_filter = ["status", "visibility", "category"]
    search_fields = ["title", "summary", "tags"]
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ["category"]
    readonly_fields = ["preview", "published_at", "view_count", "helpful_yes", "helpful_no"]
    fields = [
        "title", "slug", "category", "summary", "body_markdown", "preview", "tags",
        "search_words", "status", "visibility", "author", "last_reviewed_at", "published_at",
        "view_count", "helpful_yes", "helpful_no",
    ]  # fmt: skip
    inlines = [ArticleRevisionInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "author":
            # Staff write articles: not a list of every customer's account.
            kwargs["queryset"] = User.objects.filter(is_staff=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Preview (as saved)")
    def preview(self, obj: Article) -> SafeString:
        if not obj.body_html:
            return mark_safe("<em>Save to see the rendered article.</em>")
        # body_html was sanitised by the service when the article was saved.
        return format_html('<div class="kb-preview">{}</div>', mark_safe(obj.body_html))  # noqa: S308

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        fields = {
            name: form.cleaned_data[name]
            for name in form.cleaned_data
            if name in services.ARTICLE_FIELDS
        }
        services.article_save(article=obj, actor=_actor(request), **fields)

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        services.articles_delete(articles=[obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        services.articles_delete(articles=queryset)


class ArticleTranslationForm(forms.ModelForm):
    language = forms.ChoiceField(choices=_translation_language_choices)

    class Meta:
        model = ArticleTranslation
        fields = ["article", "language", "title", "summary", "body_markdown"]


@admin.register(ArticleTranslation)
class ArticleTranslationAdmin(admin.ModelAdmin):
    """An article in the help center's other languages (README "Languages"): readers of
    that language see it, and searches in it find it first."""

    form = ArticleTranslationForm
    list_display = ["title", "article", "language", "updated_at"]
    list_filter = ["language"]
    search_fields = ["title", "article__title"]
    autocomplete_fields = ["article"]
    fields = ["article", "language", "title", "summary", "body_markdown", "preview"]
    readonly_fields = ["preview"]

    @admin.display(description="Preview (as saved)")
    def preview(self, obj: ArticleTranslation) -> SafeString:
        if not obj.body_html:
            return mark_safe("<em>Save to see the rendered translation.</em>")
        # body_html was sanitised by the service when the translation was saved.
        return format_html('<div class="kb-preview">{}</div>', mark_safe(obj.body_html))  # noqa: S308

    def save_model(
        self, request: HttpRequest, obj: ArticleTranslation, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        services.article_translation_save(
            translation=obj,
            article=data["article"],
            language=data["language"],
            title=data["title"],
            summary=data.get("summary") or "",
            body_markdown=data.get("body_markdown") or "",
        )


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(admin.ModelAdmin):
    list_display = ["article", "number", "title", "author", "created_at"]
    list_filter = ["article"]
    list_select_related = ["article", "author"]
    readonly_fields = ["article", "number", "title", "summary", "body_markdown", "author"]
    actions = ["restore"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_restore_permission(self, request: HttpRequest) -> bool:
        """A restore changes the article: whoever may change articles (agents, not light
        agents, who only look)."""
        return request.user.has_perm(
            f"knowledge.{get_permission_codename('change', Article._meta)}"
        )

    @admin.action(
        description="Restore the selected revision (as a new revision)", permissions=["restore"]
    )
    def restore(self, request: HttpRequest, queryset: QuerySet[ArticleRevision]) -> None:
        revisions = list(queryset.select_related("article"))
        per_article = Counter(revision.article_id for revision in revisions)
        twice = next((r.article for r in revisions if per_article[r.article_id] > 1), None)
        if twice is not None:
            # Which of them would the article keep? The last restored: say so instead.
            self.message_user(
                request,
                gettext("Choose one revision of “%(title)s” to restore.") % {"title": twice.title},
                messages.ERROR,
            )
            return
        for revision in revisions:
            services.article_restore_revision(revision=revision, actor=_actor(request))
        self.message_user(
            request,
            ngettext(
                "Restored %(count)d revision.", "Restored %(count)d revisions.", len(revisions)
            )
            % {"count": len(revisions)},
            messages.SUCCESS,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by readers' actions: looked at, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(ReadOnlyAdmin):
    list_display = ["article", "helpful", "comment", "created_at"]
    list_filter = ["helpful", "created_at"]
    search_fields = ["comment", "article__title"]
    list_select_related = ["article"]


@admin.register(SearchLog)
class SearchLogAdmin(ReadOnlyAdmin):
    list_display = ["query", "source", "results_count", "clicked_article", "by_agent", "created_at"]
    list_filter = ["source", "by_agent", ("clicked_article", admin.EmptyFieldListFilter)]
    search_fields = ["query"]
    list_select_related = ["clicked_article"]
    date_hierarchy = "created_at"


@admin.register(Deflection)
class DeflectionAdmin(ReadOnlyAdmin):
    list_display = ["article", "query", "created_at"]
    list_select_related = ["article"]
    date_hierarchy = "created_at"
