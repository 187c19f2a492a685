// The namespaces most feature files need: the database (entities, context, EF queries), the composition root's
// options, the cross-cutting HTTP pieces (error builders, Refusal, request JSON, rate limits), mail, DataDir's private
// files and secrets, the caller, JSON and options. Namespaces whose names clash with
// another package's stay per file: Billing (its Charge is also Stripe's), Stripe, Orgs, Payments.
global using System.Text.Json;
global using System.Text.Json.Nodes;
global using System.Text.Json.Serialization;
global using Codebuff.Server.Auth;
global using Codebuff.Server.Data;
global using Codebuff.Server.Hosting;
global using Codebuff.Server.Http;
global using Codebuff.Server.Mail;
global using Codebuff.Server.PrivateData;
global using Microsoft.EntityFrameworkCore;
global using Microsoft.Extensions.Options;
global using Npgsql;
