/**
 * What the editor actions ask the model, in one place without `vscode` imports: the demo model's
 * training (pipeline/train/finetune_fim.py) uses the same words, and a unit test keeps them equal.
 */
export const ACTION_PROMPTS = {
    explain: "Explain what the selected code does.",
    generateTests:
        "Write unit tests for the selected code, in one code block, with the test framework this project seems to use.",
    fix: "Fix the problems reported in the selected code.",
    addDocComment:
        "Add a documentation comment in this language's usual style (JSDoc, docstring…) to the selected code; change nothing else.",
    edit: (instruction: string) => `Edit the selected code: ${instruction}`,
    /** Appended to every instruction whose answer replaces the selection. */
    editRule:
        "Reply with only the complete replacement for the selected code, in one fenced code block, keeping its indentation."
} as const;
