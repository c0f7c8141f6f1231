from django.urls import path

from okpay.support import views

app_name = "support"

urlpatterns = [
    path("support/new/", views.ticket_new, name="new"),
    path("support/suggest/", views.suggest, name="suggest"),
    path("support/tickets/", views.my_tickets, name="mine"),
    path("support/tickets/<str:public_id>/", views.ticket_page, name="ticket"),
    path("support/tickets/<str:public_id>/reply/", views.ticket_reply, name="reply"),
    path("support/tickets/<str:public_id>/close/", views.ticket_close, name="close"),
    path("support/tickets/<str:public_id>/rate/", views.ticket_rate, name="rate"),
    path("support/tickets/<str:public_id>/files/<str:attachment_id>", views.attachment_customer, name="file"),
    path("support/nps/", views.nps, name="nps"),
    path("support/feedback/", views.feedback, name="feedback"),
    path("support/callback/", views.callback, name="callback"),
    path("support/prove/<str:token>/", views.prove, name="prove"),
    path("desk/", views.desk_home, name="desk"),
    path("desk/duty/", views.desk_duty, name="desk-duty"),
    path("desk/bulk/", views.desk_bulk, name="desk-bulk"),
    path("desk/dashboard/", views.dashboard, name="dashboard"),
    path("desk/dashboard.csv", views.dashboard_csv, name="dashboard-csv"),
    path("desk/files/<str:attachment_id>", views.desk_attachment, name="desk-file"),
    path("desk/actions/<str:action_id>/decide/", views.desk_action_decide, name="desk-action-decide"),
    path("desk/risk-reviews/", views.desk_risk_reviews, name="desk-risk-reviews"),
    path("desk/risk-reviews/<str:txn_id>/decide/", views.desk_risk_review_decide, name="desk-risk-review-decide"),
    path("desk/t/<str:public_id>/", views.desk_ticket, name="desk-ticket"),
    path("desk/t/<str:public_id>/live/", views.desk_ticket_live, name="desk-live"),
    path("desk/t/<str:public_id>/context/", views.desk_context, name="desk-context"),
    path("desk/t/<str:public_id>/reply/", views.desk_reply, name="desk-reply"),
    path("desk/t/<str:public_id>/status/", views.desk_status, name="desk-status"),
    path("desk/t/<str:public_id>/category/", views.desk_category, name="desk-category"),
    path("desk/t/<str:public_id>/prove/", views.desk_prove, name="desk-prove"),
    path("desk/t/<str:public_id>/deliverable/", views.desk_deliverable, name="desk-deliverable"),
    path("desk/t/<str:public_id>/assign/", views.desk_assign, name="desk-assign"),
    path("desk/t/<str:public_id>/tags/", views.desk_tags, name="desk-tags"),
    path("desk/t/<str:public_id>/action/", views.desk_action, name="desk-action"),
    path("desk/t/<str:public_id>/link/", views.desk_link, name="desk-link"),
    path("desk/t/<str:public_id>/canned/<int:pk>/", views.desk_canned, name="desk-canned"),
]
