/**
 * The demo model is trained on the chat the server renders (pipeline/train/finetune_fim.py):
 * the same system prompt, attachment framing and action prompts. If one side changes, the model
 * no longer sees at run time what it learned, so the two must change together.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { CHAT_DEFAULTS } from "../../server/chat/ChatFeature";
import { renderAttachment } from "../../server/chat/fitConversation";
import { ACTION_PROMPTS } from "../../src/actionPrompts";

const training = readFileSync(path.resolve(import.meta.dirname, "../../pipeline/train/finetune_fim.py"), "utf8");
const pythonString = (name: string) => {
    const m = new RegExp(`^${name} = "((?:[^"\\\\]|\\\\.)*)"$`, "m").exec(training);
    assert.ok(m, `${name} is defined in finetune_fim.py`);
    return JSON.parse(`"${m[1]}"`) as string;
};

test("the training's system prompt, edit rule and action prompts are the server's and the client's", () => {
    assert.equal(pythonString("SYSTEM_PROMPT"), CHAT_DEFAULTS.systemPrompt);
    assert.equal(pythonString("EDIT_RULE"), ACTION_PROMPTS.editRule);
    assert.equal(pythonString("DOCUMENT"), ACTION_PROMPTS.addDocComment);
    assert.ok(
        training.includes(JSON.stringify(ACTION_PROMPTS.explain)),
        "the explain prompt is one of the training's questions"
    );
});

test("the training frames a selection the way the server renders it", () => {
    const rendered = renderAttachment({ kind: "selection", label: "a.ts:1-2", text: "CODE" });
    assert.equal(rendered, "Selected code from a.ts:1-2:\n```\nCODE\n```");
    assert.ok(
        training.includes("Selected code from {label}:\\n```\\n{code}\\n```\\n\\n{question}"),
        "finetune_fim.py's chat_text uses the same framing"
    );
});
