// ESLint: typescript-eslint's recommended rules, with import cycles and unused code as errors.
//   npm run lint   (Prettier, ESLint and knip; npm test runs it first)
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        ignores: [
            "dist/",
            "node_modules/",
            "models/",
            ".cache/",
            "test-results/",
            "demo/",
            "native/patches/",
            "scratch/"
        ]
    },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        languageOptions: { globals: { ...globals.node } },
        plugins: { "import-x": importX },
        settings: {
            "import-x/extensions": [".ts", ".mjs", ".cjs", ".js"],
            "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".mjs", ".js", ".json"] })]
        },
        rules: {
            "import-x/no-cycle": "error",
            "import-x/no-self-import": "error",
            "@typescript-eslint/no-unused-vars": [
                "error",
                {
                    argsIgnorePattern: "^_",
                    caughtErrors: "all",
                    caughtErrorsIgnorePattern: "^_",
                    ignoreRestSiblings: true
                }
            ],
            "no-unused-private-class-members": "error",
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }]
        }
    },
    {
        // One namespace per custom method (method, type, its params): the shape LSP's own protocol uses.
        files: ["server/protocol.ts"],
        rules: { "@typescript-eslint/no-namespace": "off" }
    },
    {
        files: ["**/*.cjs"],
        languageOptions: { sourceType: "commonjs" },
        rules: { "@typescript-eslint/no-require-imports": "off" }
    },
    {
        files: ["media/**/*.ts"],
        languageOptions: { globals: { ...globals.browser } }
    }
);
