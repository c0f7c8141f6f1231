from django.urls import path

from okpay.identity import views

app_name = "identity"

urlpatterns = [
    path("account/", views.account_home_view, name="home"),
    path("account/login/", views.login_view, name="login"),
    path("account/login/2fa/", views.login_otp_view, name="login-otp"),
    path("account/logout/", views.logout_view, name="logout"),
    path("account/register/", views.register_view, name="register"),
    path("account/register/sent/", views.register_sent_view, name="register-sent"),
    path("account/verify-email/resend/", views.verify_resend_view, name="verify-resend"),
    path("account/verify-email/<str:token>/", views.verify_email_view, name="verify-email"),
    path("account/password-reset/", views.password_reset_view, name="password-reset"),
    path("account/password-reset/sent/", views.password_reset_sent_view, name="password-reset-sent"),
    path("account/password-reset/new/", views.password_reset_new_view, name="password-reset-new"),
    path("account/password-reset/done/", views.password_reset_done_view, name="password-reset-done"),
    path("account/password-reset/t/<str:token>/", views.password_reset_token_view, name="password-reset-token"),
    path("account/security/", views.security_view, name="security"),
    path("account/activity/", views.activity_view, name="activity"),
    path("account/sessions/", views.sessions_view, name="sessions"),
    path("account/password/", views.password_change_view, name="password"),
    path("account/2fa/", views.two_factor_view, name="2fa"),
    path("account/2fa/setup/", views.two_factor_setup_view, name="2fa-setup"),
    path("account/2fa/verify/", views.second_factor_view, name="2fa-verify"),
    path("account/2fa/recovery-codes/", views.recovery_codes_view, name="2fa-recovery"),
    path("account/2fa/disable/", views.two_factor_disable_view, name="2fa-disable"),
    path("account/profile/", views.profile_view, name="profile"),
    path("account/email/", views.email_change_view, name="email-change"),
    path("account/email/confirm/<str:token>/", views.email_confirm_view, name="email-confirm"),
    path("account/phone/", views.phone_view, name="phone"),
    path("account/anti-phishing/", views.anti_phishing_view, name="anti-phishing"),
    path("account/freeze/", views.freeze_view, name="freeze"),
    path("account/freeze/link/<str:token>/", views.freeze_link_view, name="freeze-link"),
    path("account/close/", views.close_view, name="close"),
    path("dev/mail/sms/", views.dev_sms_view, name="dev-sms"),
]
