"""UI helpers that need no Streamlit server."""

from components.layout import email_html


def test_email_html_is_inert_and_not_a_mail_link():
    assert email_html("ann@example.com") == "ann<span>@</span>example.com"
    rendered = email_html('<script>alert(1)</script>@evil.example"')
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered and "&quot;" in rendered
