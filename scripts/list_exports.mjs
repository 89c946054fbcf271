import ts from 'typescript';
const file = process.argv[2] ?? 'src/index.ts';
const cfg = ts.getParsedCommandLineOfConfigFile(
  'tsconfig.json',
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const program = ts.createProgram([file], cfg.options);
const checker = program.getTypeChecker();
const sf = program.getSourceFile(file);
const sym = checker.getSymbolAtLocation(sf);
const names = checker
  .getExportsOfModule(sym)
  .map((s) => s.name)
  .sort();
console.log(names.join('\n'));
