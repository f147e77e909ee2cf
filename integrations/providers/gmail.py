from .google import declare_google


def declare(s):
    return declare_google(
        s,
        name="Gmail",
        scopes=("https://mail.google.com/", "openid", "email"),
        required_scopes=("https://mail.google.com/",),
        mail=True,
        description="Read and send mail over IMAP/SMTP (XOAUTH2).",
    )
