/**
 * `nfs4 completions bash|zsh|fish|powershell`: prints a completion script.
 *
 * The script calls `nfs4 complete -- WORDS…` on each TAB, which answers
 * with the subcommands and options of the command tree, so completions stay
 * in step with the commands themselves: one candidate a line (`VALUE\tHELP`),
 * then `:DIRECTIVE`, cobra's protocol. Built on @bomb.sh/tab's commander
 * adapter (cliffy's completions command is not reachable here: no JSR),
 * with two changes:
 *
 * - The answer's directive lets the shell complete local file names where
 *   a word may be one (cp and mv operands, `--pcap FILE`, `--trace-file
 *   PATH`, lock's COMMAND), where tab always says "no files"; and `-`
 *   alone is offered the long options as well as the short ones.
 * - The bash script is this module's own: tab's needs the bash-completion
 *   package (`_get_comp_words_by_ref`: without it every TAB printed
 *   "command not found" and offered every command), declared `readonly`
 *   globals (sourcing it again printed six errors), ignored file
 *   completion, and ran the typed words through `eval`. zsh's and fish's
 *   (locals; `complete -c nfs4 -e` first) can be sourced again as they are.
 *
 *   source <(nfs4 completions bash)
 *   nfs4 completions fish > ~/.config/fish/completions/nfs4.fish
 * @module
 */

import type { Command } from "commander";
import tabRoot, { ShellCompDirective } from "@bomb.sh/tab";
import tab from "@bomb.sh/tab/commander";
import type { RootCommand } from "./globals.ts";

/**
 * Adds `completions <shell>` (and the hidden `complete` it calls back) to
 * the program. Call after every other subcommand is registered: the adapter
 * reads the command tree as it is then.
 */
export function addCompletions(program: RootCommand): void {
  const root = program as unknown as Command;
  tab(root, { completionCommandName: "completions" });
  const completions = root.commands.find((c) => c.name() === "completions");
  completions?.action((shell: string) => {
    // The choices (bash, zsh, fish, powershell) are checked by commander.
    if (shell === "bash") console.log(bashScript(root.name()));
    else tabRoot.setup(root.name(), root.name(), shell);
  });
  completions?.addHelpText(
    "after",
    `
Examples:
  $ source <(nfs4 completions bash)
  $ nfs4 completions zsh > ~/.zsh/completions/_nfs4
  $ nfs4 completions fish > ~/.config/fish/completions/nfs4.fish
`,
  );
  root.commands.find((c) => c.name() === "complete")?.action((args: string[]) => {
    // As tab's own `complete`: `nfs4 complete bash` is a mistake for `completions bash`.
    const raw = (root as unknown as { rawArgs?: string[] }).rawArgs ?? [];
    if (args.length === 1 && !raw.includes("--")) {
      root.error(
        "error: completion requests are called like `complete -- [args]`.\n" +
          `(Did you mean \`completions ${args[0]}\` to generate shell script?)`,
      );
    }
    for (const line of completeWords(root, args)) console.log(line);
  });
}

/**
 * The answer to `nfs4 complete -- ARGS` (the last of ARGS is the word
 * being completed, `''` for a new one): tab's candidates, one a line, then
 * `:DIRECTIVE`, where the directive lets the shell complete file names
 * when the word may name a local file.
 */
export function completeWords(program: Command, args: readonly string[]): string[] {
  const cur = args.at(-1) ?? "";
  const before = args.slice(0, -1);
  let { lines, directive } = tabAnswer(args);
  if (cur === "-") {
    // tab offers `-` the short options only; a long option is as likely.
    const long = tabAnswer([...before, "--"]);
    lines = [...new Set([...lines, ...long.lines])];
  }
  const operands = withoutOptions(program, before);
  if (operands[0] === "help" && operands.length === 1 && !cur.startsWith("-")) {
    // `nfs4 help COMMAND`: the commands, as for `nfs4 COMMAND`.
    lines = tabAnswer([cur]).lines.filter((l) => !l.startsWith("-"));
  }
  if (lines.length === 0 && takesLocalPath(program, args)) {
    directive &= ~ShellCompDirective.ShellCompDirectiveNoFileComp;
  }
  return [...lines, `:${directive}`];
}

/** What tab answers for ARGS: its candidate lines and its directive. */
function tabAnswer(args: readonly string[]): { lines: string[]; directive: number } {
  const lines: string[] = [];
  const log = console.log;
  // tab prints its answer; it is read here to be amended.
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    tabRoot.parse([...args]);
  } finally {
    console.log = log;
  }
  const last = lines.at(-1);
  if (last === undefined || !/^:\d+$/.test(last)) {
    return { lines, directive: ShellCompDirective.ShellCompDirectiveNoFileComp };
  }
  return { lines: lines.slice(0, -1), directive: Number(last.slice(1)) };
}

/** The options of the root that name a local file to write. */
const LOCAL_FILE_OPTIONS: ReadonlySet<string> = new Set(["--pcap", "--trace-file"]);

/** The subcommands whose operands may be local files. */
const LOCAL_OPERANDS: ReadonlySet<string> = new Set(["cp", "mv"]);

/**
 * Whether the word being completed (the last of ARGS) may name a local
 * file: a value of `--pcap` or `--trace-file`, an operand of `cp` or `mv`,
 * or lock's COMMAND (after its URL).
 */
export function takesLocalPath(program: Command, args: readonly string[]): boolean {
  const cur = args.at(-1) ?? "";
  const before = args.slice(0, -1);
  const eq = cur.indexOf("=");
  if (cur.startsWith("--") && eq > 0) return LOCAL_FILE_OPTIONS.has(cur.slice(0, eq));
  const prev = before.at(-1);
  if (prev !== undefined && LOCAL_FILE_OPTIONS.has(prev)) return true;
  // The subcommand: the first word that is not an option or an option's value.
  let at = 0;
  for (; at < before.length; at++) {
    const word = before[at]!;
    if (!word.startsWith("-") || word === "-") break;
    if (valueFollows(program, word)) at++;
  }
  const name = before[at];
  const sub = program.commands.find((c) => c.name() === name || c.aliases().includes(name ?? ""));
  if (!sub) return false;
  let operands = 0;
  let dashes = false;
  for (let i = at + 1; i < before.length; i++) {
    const word = before[i]!;
    if (dashes || !word.startsWith("-") || word === "-") operands++;
    else if (word === "--") dashes = true;
    else if (valueFollows(sub, word) || valueFollows(program, word)) {
      if (i === before.length - 1) return false; // cur is that option's value
      i++;
    }
  }
  if (sub.name() === "lock") return dashes || operands >= 1;
  if (!LOCAL_OPERANDS.has(sub.name())) return false;
  return dashes || !cur.startsWith("-");
}

/** The operands in WORDS: what is not an option or a value an option takes. */
function withoutOptions(program: Command, words: readonly string[]): string[] {
  const operands: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("-") || word === "-") operands.push(word);
    else if (valueFollows(program, word)) i++;
  }
  return operands;
}

/** Whether the option WORD of COMMAND takes the next word as its value. */
function valueFollows(command: Command, word: string): boolean {
  if (word.startsWith("--")) {
    if (word.includes("=")) return false;
    return command.options.some((o) => o.long === word && o.required);
  }
  // A cluster of short options: the first that takes a value takes the
  // rest of the cluster, or the next word when it is the last.
  for (let i = 1; i < word.length; i++) {
    const option = command.options.find((o) => o.short === `-${word[i]}`);
    if (option?.required) return i === word.length - 1;
  }
  return false;
}

/**
 * The bash script: needs nothing but bash (the bash-completion package is
 * not used), can be sourced again, passes the words to `NAME complete`
 * as they were typed (no `eval`), and leaves a word the program says may be
 * a local file to readline's file name completion.
 */
export function bashScript(name: string): string {
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, "_")}_complete`;
  return `# bash completion for ${name}: source <(${name} completions bash)
# Needs bash alone (not the bash-completion package); sourcing it again is harmless.

${fn}() {
    local line=\${COMP_LINE:0:COMP_POINT} word cur i n
    local -a words=()
    # COMP_WORDS up to the cursor, with a word bash split at ':' or '='
    # (COMP_WORDBREAKS) joined again: nfs://host:port/path, --pcap=FILE.
    for ((i = 0; i <= COMP_CWORD; i++)); do
        word=\${COMP_WORDS[i]}
        n=\${#line}
        line=\${line#"\${line%%[![:space:]]*}"}
        if ((i == COMP_CWORD && \${#word} > \${#line})); then
            word=\${word:0:\${#line}}
        fi
        line=\${line:\${#word}}
        if ((i > 0 && n == \${#line} + \${#word} && \${#words[@]} > 0)); then
            words[\${#words[@]} - 1]+=\$word
        else
            words+=("\$word")
        fi
    done
    cur=\${words[\${#words[@]} - 1]}
    # What bash replaces is the text after the last ':' or '=' of cur.
    local prefix=\${cur%"\${cur##*[:=]}"} rest
    rest=\${cur#"\$prefix"}

    local out directive=0 candidate
    out=$(${name} complete -- "\${words[@]:1}" 2>/dev/null) || return 0
    if [[ \$out =~ (^|$'\\n'):([0-9]+)$ ]]; then
        directive=\${BASH_REMATCH[2]}
        out=\${out%:*}
    fi
    # 1 error, 2 no space, 4 no file names, 32 keep the order (cobra's directives).
    ((directive & 1)) && return 0
    ((directive & 2)) && compopt -o nospace
    ((directive & 32)) && compopt -o nosort
    COMPREPLY=()
    while IFS= read -r candidate; do
        candidate=\${candidate%%$'\\t'*}
        # A candidate for cur as a whole, or for what follows its '=' (an option's value).
        candidate=\${candidate#"\$prefix"}
        [[ -n \$candidate && \$candidate == "\$rest"* ]] && COMPREPLY+=("\$candidate")
    done <<<"\$out"
    if ((\${#COMPREPLY[@]} == 0 && !(directive & 4))); then
        compopt -o default
    fi
    return 0
}

complete -F ${fn} ${name}
`;
}
