import { LOG_SEVERITIES } from '@reskpoints/core';
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import {
  runAlertsList,
  runNotificationsList,
  runReceiversList,
  runRulesApply,
  runRulesDelete,
  runRulesList,
  runSilencesCreate,
  runSilencesExpire,
  runSilencesList,
} from './alerts.js';
import { runListAnomalies } from './anomalies.js';
import { runBudgetsDelete, runBudgetsEvents, runBudgetsList, runBudgetsSet, runBudgetsStatus } from './budgets.js';
import { runConfigCheck } from './config-command.js';
import { type CostCommand, type CostOptions, type ReportOptions, runCost, runRecost, runReport } from './cost.js';
import { runDropDeadLetter, runListDeadLetters, runRetryDeadLetter } from './dead-letters.js';
import { runDetect } from './detect.js';
import { type ForecastOptions, runCapacity, runForecast } from './forecast.js';
import type { CliIo } from './io.js';
import { runCreateKey, runCreateLangfuseKey, runCreateProject, runListProjects } from './keys.js';
import { runLogsPatterns, runLogsSearch, runLogsTail } from './logs.js';
import { runLogsMine } from './logs-mine.js';
import {
  runPricesHistory,
  runPricesImport,
  runPricesList,
  runPricesResolve,
  runPricesSet,
  runPricesShow,
} from './prices.js';
import { FILTER_OPTIONS, type QueryKind, type QueryOptions, runQuery } from './query.js';
import { runQuotasDelete, runQuotasList, runQuotasSet, runQuotasUsage } from './quotas.js';
import { type RecommendOptions, runChargeback, runRecommendations } from './recommend.js';
import { runMigrate, runStart, type ServerFlags } from './server.js';

export interface CliOutcome {
  exitCode: number;
  /** True when a server was started: the process lives on until a signal stops it. */
  keepRunning: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function serverOptions(cmd: Command): Command {
  return cmd
    .option('-p, --port <port>', 'HTTP port (0 picks a free one) [env RESKPOINTS_PORT, default 4318]')
    .option('--host <host>', 'interface to listen on [env RESKPOINTS_HOST, default 127.0.0.1]')
    .option('--data-dir <dir>', 'where embedded data lives [env RESKPOINTS_DATA_DIR, default ./data]')
    .option('-c, --config <file>', 'YAML or JSON config file [env RESKPOINTS_CONFIG]')
    .addOption(
      new Option('--role <role>', 'process role [env RESKPOINTS_ROLE, default all]').choices([
        'all',
        'ingest',
        'worker',
        'api',
      ]),
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent [env RESKPOINTS_LOG_LEVEL]');
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'server URL [env RESKPOINTS_URL, default: the server started from this folder, else http://127.0.0.1:4318]',
    )
    .option('--token <token>', 'bearer token [env RESKPOINTS_TOKEN or RESKPOINTS_ADMIN_TOKEN]')
    .option(
      '--data-dir <dir>',
      "the server's data dir: its address and saved admin token [env RESKPOINTS_DATA_DIR, default: the server started from this folder, else ./data]",
    )
    .option('--json', 'print the API response as JSON');
}

function queryCommand(
  parent: Command,
  kind: QueryKind,
  run: (kind: QueryKind, o: QueryOptions) => Promise<void>,
): Command {
  // Created through the parent so that it inherits exitOverride and the output settings.
  const cmd = parent
    .command(kind)
    .description(
      kind === 'calls'
        ? 'List LLM calls, newest first'
        : 'Requests, errors, tokens, cost and latency per group (and per time bucket with --interval)',
    );
  clientOptions(cmd)
    .option('--since <duration>', 'time range ending now, e.g. 30m, 24h, 7d (default 24h)')
    .option('--from <time>', 'range start: RFC 3339, epoch ms, or a duration ago (2h)')
    .option('--to <time>', 'range end (default now)')
    .option('--limit <n>', kind === 'calls' ? 'calls per page, 1..1000 (default 20)' : 'groups to keep (per bucket)');
  if (kind === 'summary') {
    cmd
      .option(
        '--group-by <dims>',
        'comma-separated: project,environment,provider,model,operation,status,user,session,service,tag (default model)',
      )
      .option('--interval <duration>', 'bucket width, e.g. 5m, 1h, 1d')
      .option('--order-by <metric>', 'requests|errors|totalTokens|costUsd|latencyP95Ms');
  } else {
    cmd.option('--cursor <cursor>', 'continue from a previous page').option('--trace-id <id>', 'calls of one trace');
  }
  for (const [option] of FILTER_OPTIONS) {
    cmd.option(
      `--${option} <value>`,
      option === 'project'
        ? 'only this project, by id or name (repeat or comma-separate for several)'
        : `only this ${option} (repeat or comma-separate for several)`,
      collect,
    );
  }
  return cmd.action(async (o: QueryOptions) => run(kind, o));
}

/** The `reskpoints` command tree. `setExit` receives each action's exit status. */
export function buildProgram(io: CliIo, setOutcome: (o: CliOutcome) => void): Command {
  const program = new Command('reskpoints')
    .description('ReskPoints: AI-operations platform for LLM applications')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    // A command's options end at its subcommand: `forecast --scope …` and `forecast capacity --scope …`
    // share option names.
    .enablePositionalOptions();

  const done = (exitCode: number) => setOutcome({ exitCode, keepRunning: false });

  serverOptions(program.command('start').description('Run the server'))
    .option('--demo', 'also send realistic demo traffic to it')
    .action(async (flags: ServerFlags) => {
      const code = await runStart(flags, io);
      setOutcome({ exitCode: code, keepRunning: code === 0 });
    });

  serverOptions(program.command('demo').description('Run the server with demo traffic (same as start --demo)')).action(
    async (flags: ServerFlags) => {
      const code = await runStart({ ...flags, demo: true }, io);
      setOutcome({ exitCode: code, keepRunning: code === 0 });
    },
  );

  serverOptions(program.command('migrate').description('Create or upgrade the database schemas, then exit')).action(
    async (flags: ServerFlags) => done(await runMigrate(flags, io)),
  );

  const config = program.command('config').description('Inspect the configuration');
  serverOptions(
    config.command('check').description('Validate the configuration and show where each setting comes from'),
  )
    .option('--json', 'print as JSON')
    .action((flags: ServerFlags & { json?: boolean }) => done(runConfigCheck(flags, io)));

  const query = program.command('query').description('Query LLM calls and summaries from a running server');
  const runQ = async (kind: QueryKind, o: QueryOptions) => done(await runQuery(kind, o, io));
  queryCommand(query, 'calls', runQ);
  queryCommand(query, 'summary', runQ);

  const keys = program.command('keys').description('Manage projects and their ingest keys (admin token)');
  clientOptions(
    keys
      .command('create-project')
      .argument('<name>', 'project name')
      .description('Create a project and its first ingest key'),
  )
    .option('--id <id>', 'project id (default: chosen by the server)')
    .option('--env', 'print shell export lines (URL, key, OTEL_EXPORTER_OTLP_*) for eval "$(…)"')
    .action(async (name: string, o) => done(await runCreateProject(name, o, io)));
  clientOptions(keys.command('list').description('List projects')).action(async (o) =>
    done(await runListProjects(o, io)),
  );
  clientOptions(
    keys
      .command('create')
      .argument('<project>', 'project id or name')
      .description('Create another ingest key for a project'),
  )
    .option('--name <name>', 'a label for the key')
    .action(async (projectId: string, o) => done(await runCreateKey(projectId, o, io)));
  clientOptions(
    keys
      .command('create-langfuse')
      .argument('<project>', 'project id or name')
      .description('Create a Langfuse key pair (public and secret key) for a project, for Langfuse SDKs'),
  )
    .option('--name <name>', 'a label for the key pair')
    .action(async (projectId: string, o) => done(await runCreateLangfuseKey(projectId, o, io)));

  const prices = program.command('prices').description('The price book: list, show, set, import, history');
  clientOptions(prices.command('list').description('List price entries (user entries and the built-in catalogue)'))
    .option('--provider <provider>', 'only this provider (openai, anthropic, aws, azure, google, …)')
    .option('--model <name>', 'only entries whose match fits this model name')
    .option('--project <id>', 'only overrides of this project ("global": entries for all projects)')
    .addOption(
      new Option('--origin <origin>', 'only catalogue, user or imported entries').choices([
        'catalogue',
        'user',
        'import',
      ]),
    )
    .action(async (o) => done(await runPricesList(o, io)));
  clientOptions(
    prices.command('show').argument('<id>', 'entry id, e.g. openai/gpt-4o').description('Show one price entry'),
  ).action(async (id: string, o) => done(await runPricesShow(id, o, io)));
  clientOptions(
    prices
      .command('set')
      .argument('<id>', 'entry id (yours; catalogue ids are read-only)')
      .description('Create a price entry, or write a new version of it (admin token)'),
  )
    .option('--provider <provider>', 'provider it applies to (default: any)')
    .option('--model <name>', 'exact model name it prices')
    .option('--prefix <start>', 'model names starting with this')
    .option('--regex <pattern>', 'model names matching this regular expression')
    .option('--project <id>', 'an override for this project only')
    .option('--effective-from <time>', 'date or RFC 3339 time from which it applies (default now)')
    .option('--input <usd>', 'USD per million input tokens')
    .option('--output <usd>', 'USD per million output tokens')
    .option('--cache-read <usd>', 'USD per million cache-read tokens')
    .option('--cache-write <usd>', 'USD per million cache-write tokens (5-minute)')
    .option('--cache-write-1h <usd>', 'USD per million 1-hour cache-write tokens')
    .option('--reasoning <usd>', 'USD per million reasoning tokens (default: output price)')
    .option('--per-request <usd>', 'USD per request')
    .option('--above <tokens>', 'a context tier: prices below apply above this many input tokens')
    .option('--above-input <usd>', 'input price above --above tokens')
    .option('--above-output <usd>', 'output price above --above tokens')
    .option('--description <text>', 'a note kept with the entry')
    .action(async (id: string, o) => done(await runPricesSet(id, o, io)));
  clientOptions(
    prices
      .command('import')
      .argument('<file>', 'a LiteLLM model_prices_and_context_window.json-format file')
      .description('Import prices from a LiteLLM-format file (admin token)'),
  )
    .option('--project <id>', 'import as overrides of this project')
    .option('--effective-from <time>', 'date or RFC 3339 time from which they apply (default now)')
    .action(async (file: string, o) => done(await runPricesImport(file, o, io)));
  clientOptions(
    prices.command('history').argument('<id>', 'entry id').description('Every version of a price entry'),
  ).action(async (id: string, o) => done(await runPricesHistory(id, o, io)));
  clientOptions(
    prices
      .command('resolve')
      .argument('<model>', 'model name as a call reports it')
      .description('Which entry prices a call of this model, and the names tried'),
  )
    .option('--provider <provider>', 'provider as the call reports it (openai, aws.bedrock, az.ai.openai, …)')
    .option('--request-model <name>', 'the requested model name, when it differs')
    .option('--project <id>', 'project of the call (its overrides and aliases apply)')
    .option('--at <time>', 'when the call started (default now)')
    .action(async (model: string, o) => done(await runPricesResolve(model, o, io)));

  const logs = program.command('logs').description('Log templates and patterns');
  logs
    .command('mine')
    .argument('<file>', 'a log file, one message per line (or a CSV file with --column)')
    .description("Mine log templates offline and print each line's pattern id and template, in input order")
    .option('--column <name>', 'read messages from this column of a CSV file with a header row')
    .option('--format <format>', 'csv (line,pattern_id,template) or jsonl', 'csv')
    .option('--stream', 'print each line as it is mined (templates as known then) instead of after the whole file')
    .action(async (file: string, o) => done(await runLogsMine(file, o, io)));
  const logFilters = (cmd: Command) =>
    clientOptions(cmd)
      .option('--project <id>', 'only this project (admin token; repeat or comma-separate)', collect)
      .option('--service <name>', 'only this service (repeat or comma-separate)', collect)
      .option(
        '--severity <level>',
        `only these severities: ${LOG_SEVERITIES.join(', ')} (repeat or comma-separate)`,
        collect,
      );
  logFilters(logs.command('search').description('Search stored log lines, newest first'))
    .option('--since <duration>', 'how far back, e.g. 15m, 24h, 7d', '1h')
    .option('--to <time>', 'range end (default now)')
    .option('--pattern <id>', 'only this pattern id (repeat for several)', collect)
    .option('--trace <id>', 'only lines of this trace')
    .option('-q, --q <text>', 'lines whose body contains this text (case-insensitive)')
    .option('--limit <n>', 'lines per page (1-1000)', '100')
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(async (o) => done(await runLogsSearch(o, io)));
  logFilters(logs.command('tail').description('Print the last lines, then new lines as they are stored (live)'))
    .option('--pattern <id>', 'only this pattern id (repeat for several)', collect)
    .option('-q, --q <text>', 'lines whose body contains this text (case-insensitive)')
    .option('--lines <n>', 'stored lines printed before following', '10')
    .option('--count <n>', 'exit after printing this many lines')
    .action(async (o) => done(await runLogsTail(o, io)));
  logFilters(
    logs
      .command('patterns')
      .description('Pattern statistics: lines, rate, bytes, severities, new patterns, rate changes'),
  )
    .option('--since <duration>', 'how far back, e.g. 1h, 24h, 7d', '24h')
    .option('--new', 'only patterns first seen in the second half of the range')
    .option('--changed', 'only patterns whose last bucket deviates (|z-score| >= --z)')
    .option('--z <score>', 'z-score that counts as a rate change', '3')
    .option('--limit <n>', 'patterns shown', '100')
    .action(async (o) => done(await runLogsPatterns(o, io)));

  program
    .command('detect')
    .argument('<file>', 'a CSV file of timestamp,value rows (header optional)')
    .description(
      'Score every row of a series with the default anomaly detectors; prints timestamp,value,anomaly_score (0..1)',
    )
    .action(async (file: string) => done(await runDetect(file, io)));

  const cost = program.command('cost').description('Cost from a running server: breakdowns, change, drivers, averages');
  const costCommand = (kind: CostCommand, description: string) => {
    const cmd = clientOptions(cost.command(kind).description(description))
      .option('--to <time>', 'range end (default now)')
      .option('--project <value>', 'only this project (repeat or comma-separate for several)', collect)
      .option('--model <value>', 'only this model', collect)
      .option('--provider <value>', 'only this provider', collect)
      .option('--environment <value>', 'only this environment', collect);
    if (kind !== 'rolling') {
      cmd
        .option('--since <duration>', 'range ending at --to, e.g. 7d (default 30d; 7d for compare)')
        .option('--from <time>', 'range start: RFC 3339, epoch ms, or a duration ago')
        .option('--by <dims>', 'comma-separated dimensions, e.g. model,project');
      if (kind !== 'breakdown') cmd.option('--limit <n>', 'groups to show');
    }
    cmd.action(async (o: CostOptions) => done(await runCost(kind, o, io)));
  };
  costCommand('breakdown', 'Cost by any dimensions, most expensive first, with parts and shares');
  costCommand('compare', 'Cost against the period before, with the change attributed to groups');
  costCommand('drivers', 'The most expensive groups and their change');
  costCommand('rolling', 'Mean daily cost over 7, 30 and 90 days, saying when history is too short');
  clientOptions(
    cost
      .command('recost')
      .description('Recompute the cost of a range with the prices in force now, and the rollups (admin token)'),
  )
    .option('--from <time>', 'range start (default 30 days before --to)')
    .option('--to <time>', 'range end (default now)')
    .option('--project <id>', 'only this project', collect)
    .option('--no-wait', 'start the job and return without following it')
    .action(async (o: CostOptions & { wait?: boolean }) => done(await runRecost(o, io)));

  clientOptions(
    program
      .command('report')
      .description(
        'Cost report of the last whole day, week or month: by model, project and user, drivers, change; or the reports made on the schedule',
      ),
  )
    .option('--period <period>', 'day, week or month (default month)')
    .option('--format <format>', 'table (default), csv or json')
    .option('--at <time>', 'the report covers the last whole period before this (default now)')
    .option('--project <value>', 'only this project', collect)
    .option('--stored', 'list the reports made on the schedule and kept by the server, newest first (admin token)')
    .option('--id <id>', 'a stored report, e.g. month-2026-11-01 (admin token; --format applies)')
    .option('--limit <n>', 'stored reports to list (default 50)')
    .action(async (o: ReportOptions) => done(await runReport(o, io)));
  const forecast = clientOptions(
    program
      .command('forecast')
      .description(
        'Projected period total (e.g. month-end spend) per scope with prediction intervals, and when a threshold is reached',
      ),
  )
    .option('--metric <metric>', 'cost (default), tokens or requests')
    .option(
      '--scope <dim=value>',
      'only calls matching it, e.g. project=shop or model=gpt-4o (repeat or comma-separate)',
      collect,
    )
    .option('--by <dims>', 'one forecast per group of these dimensions, e.g. model or project,model')
    .option('--horizon <duration>', 'how far to project, e.g. 30d or 48h (default 30d)')
    .option('--interval <step>', '1d (default) or 1h')
    .option('--period <period>', 'period whose total is projected: day, week or month (default month)')
    .option('--history <duration>', 'history fitted on, e.g. 90d')
    .option('--level <p>', 'central probability of the intervals (default 0.9)')
    .option('--threshold <n>', 'a period total to watch (USD for cost): when it is reached')
    .option('--limit <n>', 'scopes at most, largest first (default 20)')
    .option('--points', 'also print each forecast step with its interval')
    .action(async (o: ForecastOptions) => done(await runForecast(o, io)));
  clientOptions(
    forecast
      .command('capacity')
      .description('Requests and tokens per minute per model projected against the configured rate limits'),
  )
    .option('--scope <dim=value>', 'only calls matching it, e.g. project=shop (repeat or comma-separate)', collect)
    .option('--horizon <duration>', 'how far to project, 1h to 28d (default 7d)')
    .option('--level <p>', 'central probability of the intervals (default 0.9)')
    .action(async (o: ForecastOptions) => done(await runCapacity(o, io)));

  clientOptions(
    program
      .command('recommendations')
      .description(
        'Savings in USD per month from stored calls (cheaper model, prompt caching, errors, truncated completions, duplicates), token efficiency per project, cost per user and outcome',
      ),
  )
    .option('--from <time>', 'range start (default 30 days before --to)')
    .option('--to <time>', 'range end (default now)')
    .option('--project <id>', 'only this project (repeat or comma-separate)', collect)
    .option('--limit <n>', 'rows per cost-per list (default 50)')
    .action(async (o: RecommendOptions) => done(await runRecommendations(o, io)));
  clientOptions(
    program
      .command('chargeback')
      .description('Spend per team by tag (team:<name>), untagged shared spend allocated to the teams'),
  )
    .option('--from <time>', 'range start (default 30 days before --to)')
    .option('--to <time>', 'range end (default now)')
    .option('--project <id>', 'only this project (repeat or comma-separate)', collect)
    .option('--tag-prefix <prefix>', 'team tags start with this (default team:)')
    .option('--method <method>', 'shared spend: proportional (default) to direct spend, or even')
    .option('--format <format>', 'table (default), csv or json')
    .action(async (o: RecommendOptions) => done(await runChargeback(o, io)));

  const quotas = program
    .command('quotas')
    .description('Request, token and cost quotas: definitions and usage against their limits');
  clientOptions(quotas.command('list').description('List quota definitions (admin token)')).action(async (o) =>
    done(await runQuotasList(o, io)),
  );
  clientOptions(
    quotas
      .command('set')
      .argument('<id>', 'quota id: lower-case letters, digits, ".", "_" and "-"')
      .description('Create or replace a quota (admin token)'),
  )
    .option('--metric <metric>', 'requests, tokens or cost (USD)')
    .option('--limit <n>', 'the most the window may hold (USD for cost)')
    .option('--window <duration>', 'window length, e.g. 1m, 1h, 1d, 30d')
    .option('--sliding', 'a sliding window (default: fixed, aligned to the epoch)')
    .option('--project <id>', 'only calls of this project ("*": a separate counter per project)')
    .option('--key <id>', 'only calls with this key ("*": per key)')
    .option('--user <id>', 'only calls of this user ("*": per user)')
    .option('--model <name>', 'only calls of this model ("*": per model)')
    .option('--description <text>', 'a note kept with the quota')
    .option('--disabled', 'store it without enforcing it')
    .action(async (id: string, o) => done(await runQuotasSet(id, o, io)));
  clientOptions(
    quotas.command('delete').argument('<id>', 'quota id').description('Delete a quota (admin token)'),
  ).action(async (id: string, o) => done(await runQuotasDelete(id, o, io)));
  clientOptions(
    quotas.command('usage').description('Usage against limits: each counter holding usage in its window now'),
  ).action(async (o) => done(await runQuotasUsage(o, io)));

  const budgets = program
    .command('budgets')
    .description('Spend budgets: definitions, status (spend, forecast, burn rate) and threshold crossings');
  clientOptions(budgets.command('list').description('Budgets with spend, use and projection (admin token)')).action(
    async (o) => done(await runBudgetsList(o, io)),
  );
  clientOptions(
    budgets
      .command('set')
      .argument('<id>', 'budget id: lower-case letters, digits, ".", "_" and "-"')
      .description('Create or replace a budget (admin token)'),
  )
    .option('--file <path>', 'the definition as YAML or JSON (options given too override it)')
    .option('--name <text>', 'display name')
    .option('--amount <usd>', 'the amount per period, USD')
    .option('--period <period>', 'daily, weekly, monthly or custom')
    .option('--start <date>', 'custom periods: local date (YYYY-MM-DD) or date-time of the first one')
    .option('--length <length>', 'custom periods: length such as 14d, 2w or 12h')
    .option('--tz <zone>', 'IANA time zone of the period (default UTC)')
    .option('--project <id>', 'only calls of this project (repeatable: any of)', collect)
    .option('--environment <name>', 'only calls of this environment (repeatable)', collect)
    .option('--model <name>', 'only calls of this model (repeatable)', collect)
    .option('--provider <name>', 'only calls of this provider (repeatable)', collect)
    .option('--user <id>', 'only calls of this user (repeatable)', collect)
    .option('--tag <tag>', 'only calls carrying this tag (repeatable: every tag)', collect)
    .option(
      '--threshold <spec>',
      'repeatable: 80%, $200, forecast:100%, forecast:90%:7d, burn:1h:14.4, burn:6h/30m:6; add @block or @throttle:requests:10/1m to act (default 50%, 80%, 100%)',
      collect,
    )
    .option('--disabled', 'store it without evaluating it')
    .action(async (id: string, o) => done(await runBudgetsSet(id, o, io)));
  clientOptions(
    budgets.command('delete').argument('<id>', 'budget id').description('Delete a budget and its events (admin token)'),
  ).action(async (id: string, o) => done(await runBudgetsDelete(id, o, io)));
  clientOptions(
    budgets.command('events').argument('<id>', 'budget id').description('Threshold crossings, newest first'),
  )
    .option('--limit <n>', 'events to show, 1..1000 (default 100)')
    .option('--current', 'only the current period')
    .action(async (id: string, o) => done(await runBudgetsEvents(id, o, io)));
  clientOptions(
    budgets
      .command('status')
      .argument('<id>', 'budget id')
      .description('Spend against the amount, forecast for the period end, burn rates, thresholds and recent events'),
  ).action(async (id: string, o) => done(await runBudgetsStatus(id, o, io)));

  const anomalies = program.command('anomalies').description('Anomalies found on the key series of LLM calls');
  clientOptions(anomalies.command('list').description('List anomalies, newest first'))
    .option('--project <id>', 'only this project')
    .option('--model <model>', 'only this model')
    .option('--metric <metric>', 'only this metric: costUsd, totalTokens, requests, errorRate, latencyP95Ms, ttftP95Ms')
    .option('--series <series>', 'only this series: metric|project|model of a key series, or a series named by API')
    .option('--limit <n>', 'anomalies to show, 1..1000 (default 100)')
    .action(async (o) => done(await runListAnomalies(o, io)));

  const alerts = program.command('alerts').description('Alerts: firing, pending and resolved (admin token)');
  clientOptions(
    alerts.command('list').description('Firing and resolved alerts the pipeline holds, and pending rule series'),
  )
    .option('--state <state>', 'only this state: firing, pending or resolved (repeatable)', collect)
    .action(async (o) => done(await runAlertsList(o, io)));
  const silences = program.command('silences').description('Silences that mute matching alerts (admin token)');
  clientOptions(silences.command('list').description('Active and pending silences'))
    .option('--all', 'include expired silences')
    .action(async (o) => done(await runSilencesList(o, io)));
  clientOptions(silences.command('create').description('Create a silence'))
    .option(
      '--matcher <matcher>',
      'label matcher, e.g. \'alertname="HighCost"\' or \'env=~"prod.*"\' (repeatable)',
      collect,
    )
    .option('--start <time>', 'when it starts: RFC 3339, epoch ms or now+DURATION (default now)')
    .option('--end <time>', 'when it ends: RFC 3339, epoch ms or now+DURATION')
    .option('--duration <duration>', 'how long it lasts from its start (default 1h)')
    .option('--author <name>', 'who creates it (default $USER)')
    .option('--comment <text>', 'why')
    .option('--times <range>', 'recurring: only inside HH:MM-HH:MM each day (repeatable)', collect)
    .option('--weekdays <days>', 'recurring: only on these days, e.g. saturday:sunday (repeatable)', collect)
    .option('-q, --quiet', 'print only the new silence id')
    .option('--location <zone>', 'IANA time zone of --times and --weekdays (default UTC)')
    .action(async (o) => done(await runSilencesCreate(o, io)));
  clientOptions(silences.command('expire').argument('<id>', 'silence id').description('Expire a silence now')).action(
    async (id: string, o) => done(await runSilencesExpire(id, o, io)),
  );
  const rules = program
    .command('rules')
    .description('Alert rules from the config, the rules file and the API (admin token)');
  clientOptions(rules.command('list').description('Rules with where each comes from, state and series')).action(
    async (o) => done(await runRulesList(o, io)),
  );
  clientOptions(
    rules
      .command('apply')
      .argument('<file>', 'YAML or JSON: `rules: [...]` (the rules file shape) or a list of rules')
      .description('Create or replace API-managed rules from a file (all or none)'),
  )
    .option('--dry-run', 'validate and show what would change, without writing')
    .action(async (file: string, o) => done(await runRulesApply(file, o, io)));
  clientOptions(
    rules.command('delete').argument('<name>', 'rule name').description('Delete an API-managed rule'),
  ).action(async (name: string, o) => done(await runRulesDelete(name, o, io)));
  const receivers = program.command('receivers').description('Notification receivers (admin token)');
  clientOptions(receivers.command('list').description('Receivers and their channels, without secrets')).action(
    async (o) => done(await runReceiversList(o, io)),
  );
  const notifications = program.command('notifications').description('The notification log (admin token)');
  clientOptions(notifications.command('list').description('Notifications waiting in the outbox and the latest sent'))
    .option('--limit <n>', 'sent notifications to show, 1..1000 (default 100)')
    .action(async (o) => done(await runNotificationsList(o, io)));

  const deadLetters = program
    .command('dead-letters')
    .description('Events the store refused permanently, kept with their error (admin token)');
  clientOptions(deadLetters.command('list').description('List dead letters, oldest first'))
    .option('--limit <n>', 'letters per page, 1..1000 (default 100)')
    .option('--after <id>', 'start after this letter (the last id of the previous page)')
    .action(async (o) => done(await runListDeadLetters(o, io)));
  clientOptions(
    deadLetters.command('retry').argument('<id>', 'dead letter id').description('Store a dead letter again'),
  ).action(async (id: string, o) => done(await runRetryDeadLetter(id, o, io)));
  clientOptions(
    deadLetters.command('drop').argument('<id>', 'dead letter id').description('Drop a dead letter for good'),
  ).action(async (id: string, o) => done(await runDropDeadLetter(id, o, io)));

  return program;
}

/** Parses `argv` (without the node and script paths) and runs the command. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<CliOutcome> {
  let outcome: CliOutcome = { exitCode: 0, keepRunning: false };
  const program = buildProgram(io, (o) => {
    outcome = o;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode === 1 ? 2 : e.exitCode, keepRunning: false };
    throw e;
  }
  return outcome;
}
