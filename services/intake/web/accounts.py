"""Sign-up, e-mail verification, sign-in with the second factor, lockout, password reset,
invitations."""

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.intake.domain.account_rules import Message
from services.intake.domain.accounts import EmployerStatus, SessionStage
from services.intake.store.accounts import TokenProblem, TokenPurpose
from services.intake.usecases.account_links import AccountLinks
from services.intake.usecases.resetting_password import request_reset, set_password_by_link
from services.intake.usecases.signing_in import (
    BadCredentials,
    CodeAccepted,
    Locked,
    LockoutPolicy,
    Unverified,
    WrongCode,
    enrolment,
    give_second_factor,
    open_full_session,
    sign_in_with_password,
)
from services.intake.usecases.signing_up import (
    SignedUp,
    SignUpForm,
    resend_verification,
    sign_up,
    verify_email,
)
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, user_of
from services.runtime.web import safe_next

BAD_CREDENTIALS = Message("The e-mail address or the password is wrong.", "电子邮箱或密码不正确。")
WRONG_CODE = Message(
    "This code is wrong or was already used. Enter the code your authenticator shows now.",
    "验证码不正确或已使用过。请输入身份验证器当前显示的验证码。",
)
# How long a password, once given, waits for the second factor.
SECOND_FACTOR_WAIT = timedelta(minutes=10)
SIGN_UP_FIELDS = ("organisation", "credit_code", "contact_name", "email", "phone")


def account_links(deps: WebDeps) -> AccountLinks:
    settings = deps.settings
    return AccountLinks(
        accounts=deps.accounts,
        mail_box=deps.mail_box,
        base_url=settings.web_base_url,
        lifetime=timedelta(hours=settings.email_link_hours),
    )


def lockout_policy(deps: WebDeps) -> LockoutPolicy:
    return LockoutPolicy(deps.settings.lockout_after, deps.settings.lockout_seconds)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def routes(deps: WebDeps) -> list[BaseRoute]:
    links = account_links(deps)
    policy = lockout_policy(deps)
    lifetime = timedelta(hours=deps.settings.session_hours)
    password_stage = min(lifetime, SECOND_FACTOR_WAIT)

    async def sign_up_page(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "accounts_sign_up.html", {"form": {}, "errors": {}})
        form = await request.form()
        answer = await sign_up(links, SignUpForm(**_sign_up_values(form)))
        if isinstance(answer, SignedUp):
            return render(request, "accounts_sign_up_sent.html", {"email": answer.email})
        kept = {name: text(form, name) for name in SIGN_UP_FIELDS}  # never the password
        context = {"form": kept, "errors": answer}
        return render(request, "accounts_sign_up.html", context, status_code=400)

    async def verify_email_link(request: Request) -> Response:
        outcome = await verify_email(links, request.path_params["token"])
        if isinstance(outcome, TokenProblem):
            context = {"problem": outcome.value, "purpose": "verify-email"}
            return render(request, "accounts_link_problem.html", context, status_code=400)
        return render(request, "accounts_verified.html", {"status": outcome.value})

    async def resend(request: Request) -> Response:
        form = await request.form()
        await resend_verification(links, text(form, "email"))
        return render(request, "accounts_sign_up_sent.html", {"email": None, "resent": True})

    async def sign_in_page(request: Request) -> Response:
        next_path = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return render(request, "accounts_sign_in.html", {"next": next_path, "email": ""})
        form = await request.form()
        email, next_path = text(form, "email"), safe_next(text(form, "next"))
        outcome = await sign_in_with_password(deps.accounts, policy, email, text(form, "password"))
        if isinstance(outcome, (BadCredentials, Locked, Unverified)):
            context = {"next": next_path, "email": email, **_sign_in_refusal(outcome)}
            return render(request, "accounts_sign_in.html", context, status_code=400)
        await _end_current_session(request)
        stage = SessionStage.PASSWORD
        token = await deps.accounts.open_session(outcome.user_id, stage, password_stage)
        request.session["token"] = token
        return RedirectResponse(f"/second-factor?next={quote(next_path)}", status_code=303)

    async def second_factor_page(request: Request) -> Response:
        user = user_of(request)
        token = request.session.get("token", "")
        found = await deps.accounts.session_user(token)
        if found is not None and found[1] is SessionStage.FULL:
            return RedirectResponse("/", status_code=303)
        next_path = safe_next(request.query_params.get("next"))
        # No sections' links (or user menu) before the second factor: they lead nowhere yet.
        context: dict[str, Any] = {"next": next_path, "user": None, "signing_in": user}
        if request.method == "POST":
            form = await request.form()
            next_path = safe_next(text(form, "next"))
            outcome = await give_second_factor(
                deps.accounts, deps.data_box, policy, user, text(form, "code")
            )
            if isinstance(outcome, CodeAccepted):
                new_token = await open_full_session(deps.accounts, user, token, lifetime)
                request.session["token"] = new_token
                return RedirectResponse(next_path, status_code=303)
            context |= {"next": next_path, **_code_refusal(outcome)}
        if not user.totp_enrolled:
            context["enrolment"] = await enrolment(deps.accounts, deps.data_box, user)
        status = 400 if "error" in context or "locked_until" in context else 200
        return render(request, "accounts_second_factor.html", context, status_code=status)

    async def sign_out(request: Request) -> Response:
        await _end_current_session(request)
        request.session.clear()
        return RedirectResponse("/sign-in", status_code=303)

    async def _end_current_session(request: Request) -> None:
        """Never carry a session across a sign-in or out: the old token dies."""
        old = request.session.get("token")
        if old:
            await deps.accounts.close_session(old)
        request.session.clear()

    async def awaiting_approval(request: Request) -> Response:
        user = user_of(request)
        standing = await deps.accounts.employer_of(user.user_id)
        if standing.status is EmployerStatus.ACTIVE:
            return RedirectResponse("/", status_code=303)
        return render(request, "accounts_awaiting.html", {"standing": standing})

    async def reset_request(request: Request) -> Response:
        if request.method == "GET":
            return render(request, "accounts_reset_request.html")
        form = await request.form()
        await request_reset(links, text(form, "email"))
        return render(request, "accounts_reset_sent.html")

    def set_password_page(purpose: TokenPurpose) -> Any:
        async def page(request: Request) -> Response:
            token = request.path_params["token"]
            context: dict[str, Any] = {"purpose": purpose.value, "errors": {}}
            if request.method == "GET":
                if problem := await deps.accounts.token_problem(token, purpose):
                    context["problem"] = problem.value
                    return render(request, "accounts_link_problem.html", context, status_code=400)
                return render(request, "accounts_set_password.html", context)
            form = await request.form()
            outcome = await set_password_by_link(
                deps.accounts,
                purpose,
                token,
                text(form, "password"),
                text(form, "password_confirmation"),
            )
            if isinstance(outcome, TokenProblem):
                context["problem"] = outcome.value
                return render(request, "accounts_link_problem.html", context, status_code=400)
            if isinstance(outcome, dict):
                context["errors"] = outcome
                return render(request, "accounts_set_password.html", context, status_code=400)
            return RedirectResponse("/sign-in?done=password", status_code=303)

        return page

    return [
        Route("/sign-up", sign_up_page, methods=["GET", "POST"]),
        Route("/verify-email/resend", resend, methods=["POST"]),
        Route("/verify-email/{token}", verify_email_link, methods=["GET"]),
        Route("/sign-in", sign_in_page, methods=["GET", "POST"]),
        Route("/second-factor", second_factor_page, methods=["GET", "POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/awaiting-approval", awaiting_approval, methods=["GET"]),
        Route("/reset-password", reset_request, methods=["GET", "POST"]),
        Route(
            "/reset-password/{token}",
            set_password_page(TokenPurpose.RESET_PASSWORD),
            methods=["GET", "POST"],
        ),
        Route(
            "/invitation/{token}",
            set_password_page(TokenPurpose.INVITATION),
            methods=["GET", "POST"],
        ),
    ]


def _sign_up_values(form: FormData) -> dict[str, str]:
    names = (*SIGN_UP_FIELDS, "password", "password_confirmation")
    return {name: text(form, name) for name in names}


def _sign_in_refusal(outcome: BadCredentials | Locked | Unverified) -> dict[str, Any]:
    if isinstance(outcome, Locked):
        return {"locked_until": outcome.until}
    if isinstance(outcome, Unverified):
        return {"unverified": outcome.email}
    return {"error": BAD_CREDENTIALS}


def _code_refusal(outcome: WrongCode | Locked) -> dict[str, Any]:
    if isinstance(outcome, Locked):
        return {"locked_until": outcome.until}
    return {"error": WRONG_CODE}
