// A Node Azure OpenAI Assistants app: AzureOpenAI({endpoint, apiKey, apiVersion}) against the service's /openai routes.
// Env: ENDPOINT (the service's root, no /v1), API_KEY, API_VERSION (default 2024-05-01-preview).
// Prints one JSON object with what it observed on stdout; on an error, prints the error on stderr and exits 1.
// Driven by tests/e2e/test_node_sdk.py.
import { AzureOpenAI } from 'openai';

const client = new AzureOpenAI({
  endpoint: process.env.ENDPOINT, apiKey: process.env.API_KEY,
  apiVersion: process.env.API_VERSION ?? '2024-05-01-preview', maxRetries: 0, timeout: 15000,
});

async function main() {
  const assistant = await client.beta.assistants.create({ model: 'gpt-4o-mini', name: 'Azure Node helper' });
  const thread = await client.beta.threads.create();
  const message = await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'Hi from Azure' });
  const run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id },
    { pollIntervalMs: 50 });
  const messages = [];
  for await (const item of client.beta.threads.messages.list(thread.id, { order: 'asc' })) {
    messages.push({ role: item.role, text: item.content.map((part) => part.text?.value ?? '').join('') });
  }
  const fetched = await client.beta.assistants.retrieve(assistant.id);
  return {
    base_url: client.baseURL,
    assistant: { id: assistant.id, name: fetched.name },
    thread: { id: thread.id },
    message: { id: message.id, thread_id: message.thread_id },
    run: { id: run.id, status: run.status, last_error: run.last_error, thread_id: run.thread_id,
           assistant_id: run.assistant_id },
    messages,
  };
}

main().then(
  (result) => { process.stdout.write(JSON.stringify(result) + '\n'); },
  (error) => {
    process.stderr.write(`${error?.status ?? ''} ${error?.stack ?? error}\n${JSON.stringify(error?.error ?? null)}\n`);
    process.exit(1);
  },
);
