/**
 * A proposed edit (from a chat code block or an edit command) is applied only after the user
 * accepts it in a diff, and only to the text it was proposed for: if the document changed in
 * the meantime, the edit is refused with a clear reason rather than applied to moved text.
 * Pure, so the rule is unit-tested without an editor.
 */
type Position = { line: number; character: number };
export type ProposedEdit = {
    uri: string;
    /** The document's version when the edit was proposed. */
    version: number;
    range: { start: Position; end: Position };
    /** The text the range held then. */
    original: string;
    replacement: string;
};

export type ApplyDecision = { apply: true } | { apply: false; reason: string };

export function decide(
    edit: ProposedEdit,
    accepted: boolean,
    now: { version: number; textInRange: string } | undefined
): ApplyDecision {
    if (!accepted) return { apply: false, reason: "Rejected: nothing was changed." };
    if (!now) return { apply: false, reason: "The file was closed; nothing was changed." };
    if (now.version !== edit.version || now.textInRange !== edit.original)
        return {
            apply: false,
            reason: "The file changed after this edit was proposed, so it was not applied (it could land in the wrong place). Ask again."
        };
    return { apply: true };
}

/** The whole document text with the edit applied, for the diff view. */
export function applyToText(text: string, offsets: { start: number; end: number }, replacement: string): string {
    return text.slice(0, offsets.start) + replacement + text.slice(offsets.end);
}
