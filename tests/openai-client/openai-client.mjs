// Drives the server with the official openai package, as any OpenAI client would: lists and retrieves models, then
// makes a plain non-streamed and a plain streamed chat completion. Prints what it saw as one JSON object.
// Usage: node openai-client.mjs <baseURL> <apiKey> <model>
import OpenAI from "openai";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const listed = [];
for await (const m of client.models.list()) listed.push(m);
const retrieved = await client.models.retrieve(model);

const completion = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 50 });

const stream = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "hi" }], max_tokens: 50, stream: true, stream_options: { include_usage: true },
});
let streamed = "", streamId = null, streamUsage = null;
for await (const chunk of stream) {
  streamId ??= chunk.id;
  streamed += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) streamUsage = chunk.usage;
}

let refused = null;
try {
  await client.chat.completions.create({ model: "nobody/serves-this", messages: [{ role: "user", content: "hi" }] });
} catch (e) {
  refused = { status: e.status, code: e.code, type: e.constructor.name };
}

console.log(JSON.stringify({
  listed: listed.map(m => ({ id: m.id, object: m.object, owned_by: m.owned_by })),
  retrieved: { id: retrieved.id, object: retrieved.object, pricing: retrieved.pricing },
  completion: { id: completion.id, content: completion.choices[0].message.content, usage: completion.usage },
  stream: { id: streamId, content: streamed, usage: streamUsage },
  refused,
}));
