using System.Net;

namespace Codebuff.Server.Web;

/// <summary>The dashboard's page frame: server-rendered HTML, no script, values always HTML-encoded by the caller.</summary>
public static class Page
{
    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static ContentHttpResult Html(string title, string body, int status = 200, bool wide = false) => TypedResults.Content($$"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{Encode(title)}} · Codebuff</title>
        <style>
          body { font-family: system-ui, sans-serif; background: #0b0d12; color: #e8eaf0; margin: 0; }
          main { max-width: 32rem; margin: 12vh auto; padding: 2rem; background: #151922; border-radius: 12px; }
          h1 { font-size: 1.4rem; margin-top: 0; }
          p { line-height: 1.5; color: #b8bdc9; }
          .button { display: inline-block; padding: .7rem 1.2rem; border-radius: 8px; background: #3b82f6; color: white;
                    text-decoration: none; border: 0; font-size: 1rem; cursor: pointer; }
          .error h1 { color: #f87171; }
          .ok h1 { color: #4ade80; }
          main.wide { max-width: 52rem; margin-top: 4vh; }
          h2 { font-size: 1.1rem; margin-top: 2rem; }
          table { width: 100%; border-collapse: collapse; margin: .5rem 0 1rem; }
          th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #262c3a; }
          code { background: #0b0d12; padding: .2rem .4rem; border-radius: 4px; word-break: break-all; }
          a { color: #93c5fd; }
        </style>
        </head>
        <body><main{{(wide ? " class=\"wide\"" : "")}}>{{body}}</main></body>
        </html>
        """, "text/html; charset=utf-8", statusCode: status);

    public static ContentHttpResult Message(string title, string text, string kind, int status = 200) =>
        Html(title, $"""<section class="{kind}"><h1>{Encode(title)}</h1><p>{Encode(text)}</p></section>""", status);
}
