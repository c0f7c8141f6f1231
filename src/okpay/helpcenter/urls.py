from django.urls import path

from okpay.helpcenter import views

app_name = "helpcenter"

urlpatterns = [
    path("help/", views.help_home, name="home"),
    path("help/search/", views.help_search, name="search"),
    path("help/category/<slug:category>/", views.category_page, name="category"),
    path("help/<slug:slug>/", views.article_page, name="article"),
    path("help/<slug:slug>/vote/", views.article_vote, name="vote"),
    path("contact/", views.contact, name="contact"),
    path("verify/", views.verify_page, name="verify"),
    path("verify/report/", views.verify_report, name="verify-report"),
]
