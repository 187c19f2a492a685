using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Codebuff.Server.Tests.Payments;

/// <summary>
/// Stripe's API as a loopback HTTP server that the unmodified Stripe.net client talks to (point
/// <c>Codebuff:Stripe:ApiBase</c> at <see cref="Url"/>). It speaks Stripe's wire format: form-encoded requests
/// (<c>metadata[key]=value</c>, nested <c>invoice_settings[default_payment_method]</c>), Stripe's JSON objects and its
/// error shape (<c>{"error":{"type","code","message"}}</c>, 402 for card errors, 404 resource_missing), and the
/// Idempotency-Key header (a repeated key answers the first response; concurrent ones wait for it).
///
/// Covered: customers (create, get, update), payment methods (list by customer), payment intents (create confirmed
/// off-session, get), checkout sessions (create), refunds (create). Test controls: <see cref="AddCard"/> (optionally a
/// card that declines), <see cref="FailCustomerCreation"/>; and webhook helpers that build Stripe events
/// (<see cref="CheckoutCompleted"/>, <see cref="ChargeRefunded"/>, <see cref="DisputeCreated"/>, <see cref="DisputeClosed"/>, <see cref="Event"/>)
/// and sign them with the real scheme (<see cref="Sign"/>: <c>t=…,v1=HMAC-SHA256(secret, "t.body")</c>).
/// Reusable by any test (web, CLI) that needs payments: start it, pass its Url and <see cref="WebhookSecret"/>.
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    public const string SecretKey = "sk_test_fake";
    public const string WebhookSecret = "whsec_test_fake";

    public sealed record Card(string Id, string CustomerId, int ExpMonth, int ExpYear, bool Declines);

    readonly WebApplication _app;
    readonly SemaphoreSlim _writes = new(1, 1);
    readonly Dictionary<string, (int Status, string Body)> _idempotent = [];
    int _sequence;

    public ConcurrentDictionary<string, JsonObject> Customers { get; } = new();
    public ConcurrentDictionary<string, Card> Cards { get; } = new();
    /// <summary>Every payment intent created (idempotent repeats are not new ones), including declined attempts.</summary>
    public ConcurrentDictionary<string, JsonObject> PaymentIntents { get; } = new();
    public ConcurrentDictionary<string, JsonObject> CheckoutSessions { get; } = new();
    public ConcurrentDictionary<string, JsonObject> Charges { get; } = new();
    /// <summary>While true, creating a customer answers 500 api_error.</summary>
    public bool FailCustomerCreation { get; set; }
    public string Url { get; }

    FakeStripe(WebApplication app, string url) { _app = app; Url = url; }

    public static async Task<FakeStripe> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeStripe? self = null;
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.Authorization.ToString() != $"Bearer {SecretKey}")
            {
                await Write(context, 401, Error("invalid_request_error", null, "Invalid API Key provided"));
                return;
            }
            await next(context);
        });
        app.MapPost("/v1/customers", (HttpContext c) => self!.PostAsync(c, form => self.CreateCustomer(form)));
        app.MapGet("/v1/customers/{id}", (HttpContext c, string id) => self!.Answer(c, self.Customers.TryGetValue(id, out var cu) ? (200, cu) : Missing("customer", id)));
        app.MapPost("/v1/customers/{id}", (HttpContext c, string id) => self!.PostAsync(c, form => self.UpdateCustomer(id, form)));
        app.MapGet("/v1/payment_methods", (HttpContext c) => self!.Answer(c, (200, self.ListMethods(c.Request.Query["customer"].ToString()))));
        app.MapPost("/v1/payment_intents", (HttpContext c) => self!.PostAsync(c, form => self.CreatePaymentIntent(form)));
        app.MapGet("/v1/payment_intents/{id}", (HttpContext c, string id) => self!.Answer(c, self.PaymentIntents.TryGetValue(id, out var pi) ? (200, pi) : Missing("payment_intent", id)));
        app.MapPost("/v1/checkout/sessions", (HttpContext c) => self!.PostAsync(c, form => self.CreateCheckout(form)));
        app.MapPost("/v1/refunds", (HttpContext c) => self!.PostAsync(c, form => self.CreateRefund(form)));
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeStripe(app, url);
        return self;
    }

    string NewId(string prefix) => $"{prefix}_{Interlocked.Increment(ref _sequence):D6}{Guid.NewGuid():N}"[..(prefix.Length + 20)];

    static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // ---- test controls -------------------------------------------------------------------------------------------

    /// <summary>A customer made directly (as if created earlier), with metadata.</summary>
    public string AddCustomer(Dictionary<string, string>? metadata = null)
    {
        var id = NewId("cus");
        Customers[id] = CustomerObject(id, null, metadata ?? []);
        return id;
    }

    /// <summary>Attaches a card to the customer (by default valid for years and the default method).</summary>
    public Card AddCard(string customerId, bool declines = false, int? expYear = null, int expMonth = 12, bool makeDefault = true)
    {
        var card = new Card(NewId("pm"), customerId, expMonth, expYear ?? DateTime.UtcNow.Year + 3, declines);
        Cards[card.Id] = card;
        if (makeDefault) Customers[customerId]["invoice_settings"]!["default_payment_method"] = card.Id;
        return card;
    }

    public int SucceededCharges(string customerId) => PaymentIntents.Values.Count(p => (string?)p["customer"] == customerId && (string?)p["status"] == "succeeded");

    // ---- webhook events --------------------------------------------------------------------------------------------

    /// <summary>A Stripe event around a data object.</summary>
    public static string Event(string type, JsonObject dataObject, string? id = null) => new JsonObject
    {
        ["id"] = id ?? "evt_" + Guid.NewGuid().ToString("N")[..24], ["object"] = "event", ["api_version"] = Stripe.StripeConfiguration.ApiVersion,
        ["created"] = Now, ["livemode"] = false, ["pending_webhooks"] = 1, ["type"] = type,
        ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
        ["data"] = new JsonObject { ["object"] = dataObject },
    }.ToJsonString();

    /// <summary>checkout.session.completed for a session the server created: paid, with the session's metadata.</summary>
    public string CheckoutCompleted(string sessionId)
    {
        var session = (JsonObject)CheckoutSessions[sessionId].DeepClone();
        session["status"] = "complete";
        session["payment_status"] = "paid";
        var intent = PaymentIntentObject(NewId("pi"), (string)session["customer"]!, (long)session["amount_total"]!, "succeeded", (JsonObject)session["metadata"]!.DeepClone());
        PaymentIntents[(string)intent["id"]!] = intent;
        session["payment_intent"] = (string)intent["id"]!;
        return Event("checkout.session.completed", session);
    }

    /// <summary>charge.refunded for the charge of a payment intent (fully refunded unless an amount is given).</summary>
    public string ChargeRefunded(string paymentIntentId, long? amountRefunded = null)
    {
        var charge = ChargeOf(paymentIntentId);
        var amount = (long)charge["amount"]!;
        charge["amount_refunded"] = amountRefunded ?? amount;
        charge["refunded"] = (amountRefunded ?? amount) == amount;
        return Event("charge.refunded", (JsonObject)charge.DeepClone());
    }

    public string DisputeCreated(string paymentIntentId, string? disputeId = null) =>
        Event("charge.dispute.created", DisputeObject(paymentIntentId, disputeId ?? NewId("dp"), "needs_response"));

    /// <summary>charge.dispute.closed for a dispute opened by <see cref="DisputeCreated"/>: status "won" or "lost".</summary>
    public string DisputeClosed(string paymentIntentId, string disputeId, string status) =>
        Event("charge.dispute.closed", DisputeObject(paymentIntentId, disputeId, status));

    JsonObject DisputeObject(string paymentIntentId, string disputeId, string status)
    {
        var charge = ChargeOf(paymentIntentId);
        return new JsonObject
        {
            ["id"] = disputeId, ["object"] = "dispute", ["amount"] = (long)charge["amount"]!, ["currency"] = "usd", ["charge"] = (string)charge["id"]!,
            ["payment_intent"] = paymentIntentId, ["reason"] = "fraudulent", ["status"] = status, ["created"] = Now,
        };
    }

    /// <summary>The Stripe-Signature header for a body, as Stripe computes it; a different secret makes a bad one.</summary>
    public static string Sign(string body, string secret = WebhookSecret, long? timestamp = null)
    {
        var t = (timestamp ?? Now).ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}"));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    // ---- API ----------------------------------------------------------------------------------------------------

    async Task PostAsync(HttpContext context, Func<IFormCollection, (int, JsonObject)> handle)
    {
        var form = await context.Request.ReadFormAsync();
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        await _writes.WaitAsync();
        try
        {
            var cacheKey = $"{context.Request.Path}|{key}";
            if (key.Length > 0 && _idempotent.TryGetValue(cacheKey, out var cached))
            {
                context.Response.Headers["Idempotent-Replayed"] = "true";
                await WriteRaw(context, cached.Status, cached.Body);
                return;
            }
            var (status, body) = handle(form);
            var json = body.ToJsonString();
            if (key.Length > 0) _idempotent[cacheKey] = (status, json);
            await WriteRaw(context, status, json);
        }
        finally
        {
            _writes.Release();
        }
    }

    Task Answer(HttpContext context, (int Status, JsonObject Body) answer) => Write(context, answer.Status, answer.Body);

    static Task Write(HttpContext context, int status, JsonObject body) => WriteRaw(context, status, body.ToJsonString());

    static async Task WriteRaw(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers["Request-Id"] = "req_" + Guid.NewGuid().ToString("N")[..14];
        await context.Response.WriteAsync(json);
    }

    static JsonObject Error(string type, string? code, string message, JsonObject? extra = null)
    {
        var error = new JsonObject { ["type"] = type, ["code"] = code, ["message"] = message };
        if (extra is not null) foreach (var (k, v) in extra) error[k] = v?.DeepClone();
        return new JsonObject { ["error"] = error };
    }

    static (int, JsonObject) Missing(string kind, string id) =>
        (404, Error("invalid_request_error", "resource_missing", $"No such {kind}: '{id}'", new JsonObject { ["param"] = "id" }));

    static Dictionary<string, string> Metadata(IFormCollection form, string prefix = "metadata") =>
        form.Keys.Where(k => k.StartsWith(prefix + "[", StringComparison.Ordinal) && k.EndsWith(']'))
            .ToDictionary(k => k[(prefix.Length + 1)..^1], k => form[k].ToString());

    static JsonObject MetadataObject(Dictionary<string, string> m) => new(m.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));

    static JsonObject CustomerObject(string id, string? email, Dictionary<string, string> metadata) => new()
    {
        ["id"] = id, ["object"] = "customer", ["created"] = Now, ["email"] = email, ["livemode"] = false,
        ["invoice_settings"] = new JsonObject { ["default_payment_method"] = null }, ["metadata"] = MetadataObject(metadata),
    };

    (int, JsonObject) CreateCustomer(IFormCollection form)
    {
        if (FailCustomerCreation) return (500, Error("api_error", null, "An unknown error occurred"));
        var id = NewId("cus");
        var customer = CustomerObject(id, form["email"].FirstOrDefault(), Metadata(form));
        Customers[id] = customer;
        return (200, customer);
    }

    (int, JsonObject) UpdateCustomer(string id, IFormCollection form)
    {
        if (!Customers.TryGetValue(id, out var customer)) return Missing("customer", id);
        if (form.TryGetValue("invoice_settings[default_payment_method]", out var pm)) customer["invoice_settings"]!["default_payment_method"] = pm.ToString();
        return (200, customer);
    }

    JsonObject ListMethods(string customerId) => new()
    {
        ["object"] = "list", ["url"] = "/v1/payment_methods", ["has_more"] = false,
        ["data"] = new JsonArray([.. Cards.Values.Where(c => c.CustomerId == customerId).Select(c => (JsonNode?)new JsonObject
        {
            ["id"] = c.Id, ["object"] = "payment_method", ["type"] = "card", ["customer"] = c.CustomerId, ["created"] = Now,
            ["card"] = new JsonObject { ["brand"] = "visa", ["last4"] = c.Declines ? "0002" : "4242", ["exp_month"] = c.ExpMonth, ["exp_year"] = c.ExpYear },
        })]),
    };

    JsonObject PaymentIntentObject(string id, string customer, long amount, string status, JsonObject metadata)
    {
        var chargeId = NewId("ch");
        Charges[chargeId] = new JsonObject
        {
            ["id"] = chargeId, ["object"] = "charge", ["amount"] = amount, ["amount_refunded"] = 0, ["currency"] = "usd", ["customer"] = customer,
            ["payment_intent"] = id, ["paid"] = status == "succeeded", ["refunded"] = false, ["status"] = status == "succeeded" ? "succeeded" : "failed",
            ["created"] = Now, ["metadata"] = metadata.DeepClone(),
        };
        return new JsonObject
        {
            ["id"] = id, ["object"] = "payment_intent", ["amount"] = amount, ["currency"] = "usd", ["customer"] = customer, ["status"] = status,
            ["created"] = Now, ["metadata"] = metadata, ["latest_charge"] = chargeId, ["livemode"] = false,
        };
    }

    JsonObject ChargeOf(string paymentIntentId) => Charges[(string)PaymentIntents[paymentIntentId]["latest_charge"]!];

    (int, JsonObject) CreatePaymentIntent(IFormCollection form)
    {
        var customer = form["customer"].ToString();
        if (!Customers.ContainsKey(customer)) return Missing("customer", customer);
        var amount = long.Parse(form["amount"].ToString(), CultureInfo.InvariantCulture);
        var methodId = form["payment_method"].ToString();
        if (!Cards.TryGetValue(methodId, out var card) || card.CustomerId != customer) return Missing("payment_method", methodId);
        var id = NewId("pi");
        var declined = card.Declines;
        var intent = PaymentIntentObject(id, customer, amount, declined ? "requires_payment_method" : "succeeded", MetadataObject(Metadata(form)));
        PaymentIntents[id] = intent;
        if (declined)
            return (402, Error("card_error", "card_declined", "Your card was declined.",
                new JsonObject { ["decline_code"] = "generic_decline", ["payment_intent"] = intent.DeepClone() }));
        return (200, intent);
    }

    (int, JsonObject) CreateCheckout(IFormCollection form)
    {
        var id = "cs_test_" + Guid.NewGuid().ToString("N");
        var amount = long.Parse(form["line_items[0][price_data][unit_amount]"].ToString(), CultureInfo.InvariantCulture)
                     * long.Parse(form["line_items[0][quantity]"].FirstOrDefault() ?? "1", CultureInfo.InvariantCulture);
        var session = new JsonObject
        {
            ["id"] = id, ["object"] = "checkout.session", ["mode"] = form["mode"].ToString(), ["customer"] = form["customer"].ToString(),
            ["amount_total"] = amount, ["currency"] = "usd", ["status"] = "open", ["payment_status"] = "unpaid", ["created"] = Now,
            ["success_url"] = form["success_url"].ToString(), ["cancel_url"] = form["cancel_url"].ToString(),
            ["url"] = $"https://checkout.stripe.test/c/pay/{id}", ["metadata"] = MetadataObject(Metadata(form)),
            ["payment_intent_data_metadata"] = MetadataObject(Metadata(form, "payment_intent_data[metadata]")),
            ["setup_future_usage"] = form["payment_intent_data[setup_future_usage]"].ToString(),
        };
        CheckoutSessions[id] = session;
        return (200, session);
    }

    (int, JsonObject) CreateRefund(IFormCollection form)
    {
        var intentId = form["payment_intent"].ToString();
        if (!PaymentIntents.ContainsKey(intentId)) return Missing("payment_intent", intentId);
        var charge = ChargeOf(intentId);
        var amount = form.TryGetValue("amount", out var a) ? long.Parse(a.ToString(), CultureInfo.InvariantCulture) : (long)charge["amount"]!;
        charge["amount_refunded"] = (long)charge["amount_refunded"]! + amount;
        charge["refunded"] = (long)charge["amount_refunded"]! >= (long)charge["amount"]!;
        return (200, new JsonObject
        {
            ["id"] = NewId("re"), ["object"] = "refund", ["amount"] = amount, ["charge"] = (string)charge["id"]!, ["payment_intent"] = intentId,
            ["status"] = "succeeded", ["currency"] = "usd", ["created"] = Now,
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
