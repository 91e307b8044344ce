"""Acting on the console as a browser would, over plain HTTP (httpx)."""

import contextlib
import re
from collections.abc import AsyncIterator

import httpx

TOKEN = re.compile(r'name="csrftoken" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@contextlib.asynccontextmanager
async def signed_in_client(
    url: str, username: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a session of `username`."""
    async with httpx.AsyncClient(base_url=url, follow_redirects=False) as client:
        page = await client.get("/sign-in")
        form = {"csrftoken": csrf_token(page.text), "username": username, "password": password}
        answer = await client.post("/sign-in", data=form)
        assert answer.status_code == 303, answer.text
        yield client


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, form: dict[str, str]
) -> httpx.Response:
    """Submits a form of the page at `page_path` as the browser would, with its CSRF token."""
    page = await client.get(page_path)
    return await client.post(action, data={"csrftoken": csrf_token(page.text), **form})
