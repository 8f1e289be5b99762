import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyToText, decide, type ProposedEdit } from "../../src/edits/editProposal";

const edit: ProposedEdit = {
    uri: "file:///w/a.ts",
    version: 7,
    range: { start: { line: 1, character: 0 }, end: { line: 1, character: 5 } },
    original: "old()",
    replacement: "new()"
};

describe("edit proposals", () => {
    test("applied only when accepted and the document is as it was", () => {
        assert.deepEqual(decide(edit, true, { version: 7, textInRange: "old()" }), { apply: true });
    });
    test("rejected: nothing changes", () => {
        const d = decide(edit, false, { version: 7, textInRange: "old()" });
        assert.equal(d.apply, false);
    });
    test("the document changed meanwhile: refused with a clear reason", () => {
        const d = decide(edit, true, { version: 8, textInRange: "old()" });
        assert.equal(d.apply, false);
        assert.match((d as { reason: string }).reason, /changed after this edit was proposed/);
        assert.equal(decide(edit, true, { version: 7, textInRange: "odd()" }).apply, false);
    });
    test("the document was closed: refused", () => {
        assert.match((decide(edit, true, undefined) as { reason: string }).reason, /closed/);
    });
    test("the diff shows exactly the range replaced", () => {
        assert.equal(applyToText("a\nold()\nb", { start: 2, end: 7 }, "new()"), "a\nnew()\nb");
    });
});
