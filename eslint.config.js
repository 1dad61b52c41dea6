// Lint rules: typescript-eslint's recommended set, plus bans that keep time and randomness injectable
// (src/ reads the clock through src/lib/clock.ts, so tests and simulations can control it).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const injectableTimeMessage = "Take a Clock (src/lib/clock.ts) so callers and tests control time.";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "web/dist/**", "bench/results/**", "coverage/**", "test-artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "max-lines-per-function": ["warn", { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      "max-lines-per-function": ["warn", { max: 80, skipBlankLines: true, skipComments: true }],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: injectableTimeMessage },
        {
          object: "Math",
          property: "random",
          message: "Take the random source as a parameter (crypto ids are fine: they only need to be unique).",
        },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: injectableTimeMessage },
        { selector: "CallExpression[callee.name='Date']", message: injectableTimeMessage },
      ],
    },
  },
  {
    // The one place that reads the real clock.
    files: ["src/lib/clock.ts"],
    rules: { "no-restricted-properties": "off", "no-restricted-syntax": "off" },
  },
  {
    // A describe() block is one long function by nature; the limit is for production code.
    files: ["test/**/*.ts", "**/*.test.ts"],
    rules: { "max-lines-per-function": "off" },
  },
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
);
