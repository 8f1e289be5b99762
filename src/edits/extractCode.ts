/** The code of a model's answer: its first fenced code block, or the whole answer when it has none. */
export function extractCode(answer: string): string {
    const fence = /```[^\n]*\n([\s\S]*?)(?:\n```|$)/.exec(answer);
    const code = fence ? fence[1]! : answer.trim();
    return code.replace(/\n$/, "");
}
