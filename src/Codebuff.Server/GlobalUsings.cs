// The namespaces most feature files need: the database (entities, context, EF queries), the ledger's public surface
// (src/Codebuff.Ledger/README.md), the composition root's options, the cross-cutting HTTP pieces (error builders,
// Refusal, request JSON, rate limits), mail, DataDir's secrets, the caller, JSON and options. Namespaces whose names
// clash with another package's stay per file: Stripe (its Charge is also the ledger's; files using both name Stripe's),
// Orgs, Payments.
global using System.Text.Json;
global using System.Text.Json.Nodes;
global using System.Text.Json.Serialization;
global using Codebuff.Ledger;
global using Codebuff.Server.Auth;
global using Codebuff.Server.Data;
global using Codebuff.Server.Hosting;
global using Codebuff.Server.Http;
global using Codebuff.Server.Mail;
global using Codebuff.Server.PrivateData;
// Typed answers (Results<Ok<T>, …>) and the error shapes' result types, named once (Http/Errors.cs).
global using Microsoft.AspNetCore.Http.HttpResults;
global using Microsoft.EntityFrameworkCore;
global using Microsoft.Extensions.Options;
global using Npgsql;
global using CodedResult = Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Codebuff.Server.Http.CodedErrorBody>;
global using DetailsResult = Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Codebuff.Server.Http.ErrorDetailsBody>;
global using ErrorResult = Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Codebuff.Server.Http.ErrorBody>;
global using MessageResult = Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Codebuff.Server.Http.MessageBody>;
