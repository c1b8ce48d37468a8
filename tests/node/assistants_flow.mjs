// A Node Assistants app, written the way the openai SDK's docs show it, pointed at the service.
// Env: BASE_URL (ends in /v1), API_KEY; NOTES and MANUAL: the texts of the two files it uploads.
// Prints one JSON object with what it observed on stdout; on an error, prints the error on stderr and exits 1.
// Driven by tests/e2e/test_node_sdk.py.
import OpenAI, { toFile } from 'openai';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0, timeout: 15000 });
const NOTES = process.env.NOTES ?? 'The warranty lasts two years.';
const MANUAL = process.env.MANUAL ?? 'Returns are accepted within 30 days.';
const POLL = { pollIntervalMs: 50 };

const textParts = (message) => message.content.filter((part) => part.type === 'text').map((part) => part.text);
const textOf = (message) => textParts(message).map((text) => text.value).join('');
// The citations of a message, and its text rendered the way the Assistants docs show it: each annotation's `text`
// replaced by a footnote number.
function cited(message) {
  const annotations = [];
  let rendered = '';
  for (const text of textParts(message)) {
    let value = text.value;
    for (const a of text.annotations) {
      annotations.push({ type: a.type, file_id: a.file_citation?.file_id ?? a.file_path?.file_id, text: a.text,
                         brackets: text.value.slice(a.start_index, a.end_index) === a.text });
      value = value.replace(a.text, `[${annotations.length - 1}]`);
    }
    rendered += value;
  }
  return { annotations, rendered };
}

async function main() {
  // Files and a vector store.
  const notes = await client.files.create({ file: await toFile(Buffer.from(NOTES), 'notes.txt'), purpose: 'assistants' });
  const store = await client.vectorStores.create({ name: 'Knowledge' });
  const batch = await client.vectorStores.fileBatches.uploadAndPoll(
    store.id, { files: [await toFile(Buffer.from(MANUAL), 'manual.txt')], fileIds: [notes.id] }, POLL);
  const storeFiles = [];
  for await (const file of client.vectorStores.files.list(store.id)) storeFiles.push({ id: file.id, status: file.status });

  // An assistant searching the store; a thread whose message attaches the notes for file_search.
  const assistant = await client.beta.assistants.create({
    model: 'gpt-4o-mini', name: 'Node helper', instructions: 'Answer from the files.',
    tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_store_ids: [store.id] } },
  });
  const thread = await client.beta.threads.create({
    messages: [{ role: 'user', content: 'How long is the warranty?',
                 attachments: [{ file_id: notes.id, tools: [{ type: 'file_search' }] }] }],
  });

  // A polled run.
  const polled = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, POLL);
  const [polledReply] = (await client.beta.threads.messages.list(thread.id, { limit: 1 })).data;

  // A streamed run, with the event handlers a Node app would use.
  await client.beta.threads.messages.create(thread.id, { role: 'user', content: 'And returns?' });
  const deltas = [];
  const done = [];
  const events = [];
  const stream = client.beta.threads.runs
    .stream(thread.id, { assistant_id: assistant.id })
    .on('event', (event) => events.push(event.event))
    .on('textDelta', (delta) => deltas.push(delta.value ?? ''))
    .on('messageDone', (message) => done.push({ id: message.id, text: textOf(message), ...cited(message) }));
  const streamedRun = await stream.finalRun();

  // What the user sees afterwards.
  const messages = [];
  for await (const message of client.beta.threads.messages.list(thread.id, { order: 'asc', limit: 2 })) {
    messages.push({ id: message.id, role: message.role, run_id: message.run_id, text: textOf(message),
      ...cited(message), attachments: (message.attachments ?? []).map((a) => a.file_id) });
  }
  const threadAfter = await client.beta.threads.retrieve(thread.id);
  const steps = [];
  for await (const step of client.beta.threads.runs.steps.list(polled.id, { thread_id: thread.id, order: 'asc' })) {
    steps.push(step.type);
  }
  const content = Buffer.from(await (await client.files.content(notes.id)).arrayBuffer());
  const retrieved = await client.files.retrieve(notes.id);
  const models = [];
  for await (const model of client.models.list()) models.push(model.id);

  return {
    file: { id: notes.id, filename: notes.filename, bytes: notes.bytes, purpose: notes.purpose,
            retrieved_filename: retrieved.filename },
    content_base64: content.toString('base64'),
    vector_store: { id: store.id, batch_status: batch.status, batch_counts: batch.file_counts, files: storeFiles },
    assistant: { id: assistant.id, vector_store_ids: assistant.tool_resources?.file_search?.vector_store_ids ?? [] },
    thread: { id: thread.id, vector_store_ids: threadAfter.tool_resources?.file_search?.vector_store_ids ?? [] },
    polled: { id: polled.id, status: polled.status, last_error: polled.last_error, text: textOf(polledReply),
              ...cited(polledReply) },
    streamed: { id: streamedRun.id, status: streamedRun.status, deltas, done, events },
    messages,
    steps,
    models,
  };
}

main().then(
  (result) => { process.stdout.write(JSON.stringify(result) + '\n'); },
  (error) => {
    process.stderr.write(`${error?.status ?? ''} ${error?.stack ?? error}\n${JSON.stringify(error?.error ?? null)}\n`);
    process.exit(1);
  },
);
