from django.urls import path

from knowledge import views

urlpatterns = [
    path("", views.home, name="kb-home"),
    path("search/", views.search, name="kb-search"),
    path("<slug:category_slug>/", views.category, name="kb-category"),
    path("<slug:category_slug>/<slug:slug>/", views.article, name="kb-article"),
    path("<slug:category_slug>/<slug:slug>/feedback/", views.feedback, name="kb-article-feedback"),
]
