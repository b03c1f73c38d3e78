"""Categories, articles and their revisions: the answers the help desk publishes."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext

# The help center's own pages beside its categories' (knowledge/urls.py: /kb/search/): a
# category with one of these slugs would have a page nobody can reach.
RESERVED_CATEGORY_SLUGS = frozenset({"search"})


class Category(models.Model):
    """A shelf of articles; categories nest one level (a top category and its children)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.slug in RESERVED_CATEGORY_SLUGS:
            raise ValidationError(
                {
                    "slug": gettext(
                        "“%(slug)s” is the address of the help center's search page: "
                        "choose another."
                    )
                    % {"slug": self.slug}
                }
            )
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": "A category cannot be its own parent."})
        if self.parent is not None and self.parent.parent_id is not None:
            raise ValidationError({"parent": "Categories nest one level only."})
        if self.pk is not None and Category.objects.filter(parent_id=self.pk).exists():
            raise ValidationError({"parent": "A category with children cannot have a parent."})


class CategoryTranslation(models.Model):
    """A category's name and description in another language than the knowledge base's
    own: the help center and the knowledge-base API show them to readers of that language
    (knowledge.selectors.categories_in_language). Written by
    knowledge.services.category_translation_save."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language"]
        # Also the index of the readers' lookup: the shown categories' rows in one language.
        constraints = [
            models.UniqueConstraint(
                fields=["category", "language"], name="kb_categorytranslation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    AGENTS = "agents", "Agents only"


class Article(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    summary = models.CharField(max_length=500, blank=True)
    body_markdown = models.TextField(blank=True)
    # Rendered from body_markdown and sanitised by knowledge.services, never edited by hand.
    body_html = models.TextField(blank=True, editable=False)
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated.")
    # Words readers search with that the text does not use; found like tags, never shown.
    search_words = models.TextField(
        blank=True,
        help_text="Other words readers use for this (comma-separated): searches with them "
        "find the article. Not shown to readers.",
    )
    status = models.CharField(
        max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kb_articles",
    )
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0, editable=False)
    helpful_yes = models.PositiveIntegerField(default=0, editable=False)
    helpful_no = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The rendered body as plain text, for search snippets; derived like body_html.
    body_text = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["status", "visibility"], name="kb_article_status_vis")]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]


class ArticleFormerSlug(models.Model):
    """An address an article had before its slug was changed: links already sent (tier
    0's answers, shared links) still find it (knowledge.selectors.article_for_reader).
    Written by knowledge.services.article_save; an article given the slug takes it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="former_slugs")
    slug = models.SlugField(max_length=220, unique=True)

    def __str__(self) -> str:
        return f"{self.slug} → {self.article_id}"


class ArticleTranslation(models.Model):
    """An article in another language than the knowledge base's own: the help center shows
    it to readers of that language, and searches in that language find it first
    (knowledge.search.translated). Written by knowledge.services.article_translation_save."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    body_text = models.TextField(blank=True, editable=False)
    # Its search terms and their weights (knowledge.search.translated), kept with it.
    search_terms = models.JSONField(default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["article", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "language"], name="kb_articletranslation_unique"
            )
        ]
        indexes = [models.Index(fields=["language", "article"], name="kb_translation_lang")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class ArticleRevision(models.Model):
    """A snapshot of an article's text, written by every save through the service."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    body_markdown = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kb_revisions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_revision_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article} #{self.number}"


class ArticleFeedback(models.Model):
    """A reader's answer to "Was this helpful?", with the reason when it was not.

    One per reader and article (`voter`: a signed-in person, else the browser's session):
    answering again changes the answer (knowledge.services.article_record_feedback)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    # Who answered, as "user:<id>" or "visitor:<random id kept in their session>";
    # empty for the answers given before readers were told apart.
    voter = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "voter"],
                condition=~models.Q(voter=""),
                name="kb_feedback_one_per_voter",
            )
        ]

    def __str__(self) -> str:
        return f"{'Helpful' if self.helpful else 'Not helpful'}: {self.article}"


class SearchSource(models.TextChoices):
    PORTAL = "portal", "Help-center search"
    API = "api", "Search API"
    WEB_FORM = "web_form", "Contact-form suggestions"


class SearchLog(models.Model):
    """One search a reader made, and the article they opened from it (if any).

    Searches nobody clicked are the "failed searches" that say which article to write next.
    The contact form updates one row per form as the customer types, not one per keystroke.
    """

    query = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=SearchSource.choices)
    by_agent = models.BooleanField(default=False)
    results_count = models.PositiveIntegerField()
    clicked_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    clicked_at = models.DateTimeField(null=True, blank=True)
    # When the article it led to was said to help and the search learned its words
    # (knowledge.search.index.learn): a search teaches once, however often that is said.
    taught_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.query


class Deflection(models.Model):
    """A customer who wrote the contact form, found the answer in a suggestion and sent nothing.

    Tickets resolved by tier-0 answers are recorded on the ticket itself (a "deflected" event).
    """

    article = models.ForeignKey(
        Article, null=True, on_delete=models.SET_NULL, related_name="deflections"
    )
    query = models.CharField(max_length=200, blank=True)
    # The contact form's search the customer found it from: one deflection per search,
    # however often "This solved my problem" is sent for it.
    search = models.ForeignKey(
        SearchLog, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["search"],
                condition=models.Q(search__isnull=False),
                name="kb_deflection_one_per_search",
            )
        ]

    def __str__(self) -> str:
        return f"Deflected by {self.article}"


class SearchTerm(models.Model):
    """A term of the search index: a stemmed word, a synonym group or a pair of adjacent words.

    `articles` counts the published articles whose text holds the term (its document
    frequency); the term with empty text counts every indexed article.
    """

    text = models.CharField(max_length=120, unique=True)
    articles = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.text


class ArticleTerm(models.Model):
    """How strongly an article's text holds a term (field-weighted, saturated term frequency).

    Written by knowledge.search.index for published articles only.
    """

    # The two ways in are the indexes below: a term's articles for the candidates, and an
    # article's terms for the final scores (covering: PostgreSQL reads it without the table).
    term = models.ForeignKey(SearchTerm, on_delete=models.CASCADE, related_name="+", db_index=False)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+", db_index=False)
    weight = models.FloatField()
    public = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "article"], name="kb_article_term_unique")
        ]
        indexes = [
            models.Index(
                fields=["article", "term"],
                include=["weight", "public"],
                name="kb_article_term_article",
            )
        ]

    def __str__(self) -> str:
        return f"{self.term_id} in {self.article_id}: {self.weight}"


class LearnedTerm(models.Model):
    """A term readers used to find an article that solved their problem: it draws later
    searches with that word to the article, whether or not its text holds it."""

    term = models.ForeignKey(SearchTerm, on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="learned_terms")
    strength = models.FloatField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "article"], name="kb_learned_term_unique")
        ]

    def __str__(self) -> str:
        return f"{self.term} → {self.article}"


class Synonym(models.Model):
    """Words and phrases customers and articles use for one thing ("wifi, wireless network").

    A search for any of them finds articles holding any other.
    """

    words = models.TextField(
        help_text="Comma-separated words or phrases that mean the same, e.g. "
        "“wifi, wi-fi, wireless network, wlan”."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["words"]

    def __str__(self) -> str:
        return self.words

    @property
    def word_list(self) -> list[str]:
        return [word.strip() for word in self.words.split(",") if word.strip()]
