// The namespaces most feature files need: the database (entities, context, EF queries), the shared hosting pieces
// (error builders, Refusal, request JSON), the caller, JSON and options. Namespaces whose names clash with
// another package's stay per file: Billing (its Charge is also Stripe's), Stripe, Orgs, Payments.
global using System.Text.Json;
global using System.Text.Json.Nodes;
global using System.Text.Json.Serialization;
global using Codebuff.Server.Auth;
global using Codebuff.Server.Data;
global using Codebuff.Server.Hosting;
global using Codebuff.Server.Http;
global using Microsoft.EntityFrameworkCore;
global using Microsoft.Extensions.Options;
global using Npgsql;
