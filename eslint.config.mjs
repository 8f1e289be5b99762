// ESLint: typescript-eslint's recommended rules, with import cycles and unused code as errors.
//   npm run lint   (Prettier, ESLint and knip; npm test runs it first)
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        ignores: ["dist/", "node_modules/", "models/", ".cache/", "test-results/", "demo/", "native/patches/", "scratch/"]
    },
    js.configs.recommended,
    tseslint.configs.recommended,
    {
        languageOptions: { globals: { ...globals.node } },
        plugins: { "import-x": importX },
        settings: {
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".mjs", ".js", ".json"] })]
        },
        rules: {
            "import-x/no-cycle": "error",
            "import-x/no-self-import": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "all", caughtErrorsIgnorePattern: "^_" }],
            "no-unused-private-class-members": "error",
            "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }]
        }
    },
    {
        files: ["media/**/*.ts"],
        languageOptions: { globals: { ...globals.browser } }
    }
);
