from django.urls import path

from knowledge.api import views

app_name = "kb-api"

urlpatterns = [
    path("search", views.ArticleSearchView.as_view(), name="search"),
    path("categories", views.CategoryListView.as_view(), name="categories"),
]
