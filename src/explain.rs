//! The `explain` report: what the compiler inferred and decided, per function.
//!
//! For each compiled function instance: its signature and the types of its
//! variables; for each loop, whether it runs in parallel and why; and for each
//! call through a `Callable` parameter, what that call costs. Users read it to
//! find out why a kernel is slower than they expect.

use crate::analysis::lanes::{Extreme, LaneLoop};
use crate::analysis::parallel::{Parallel, ParallelLoop, Plan};
use crate::analysis::{AccessKind, Decision, Facts, FunctionFacts};
use crate::diagnostics::{SourceFile, Span};
use crate::ir::{typed, untyped};
use crate::types::Type;

pub fn report(
    file: &SourceFile,
    untyped: &untyped::Module,
    typed: &typed::Module,
    facts: &Facts,
) -> String {
    let mut out = format!("{}\n", file.path);
    let bounded = crate::codegen::kernels::bounded_recursion(typed, facts);
    let speculative = crate::codegen::kernels::speculative_recursion(typed, facts);
    for function in &typed.functions {
        let kind = if function.export.is_some() {
            "exported"
        } else {
            "helper"
        };
        let params: Vec<String> = function
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect();
        out.push_str(&format!(
            "\n{kind} {}({}) -> {}",
            function.name,
            params.join(", "),
            function.return_type
        ));
        if function.rust_name != function.name {
            out.push_str(&format!("    [compiled as {}]", function.rust_name));
        }
        out.push('\n');
        if !function.locals.is_empty() {
            let locals: Vec<String> = function
                .locals
                .iter()
                .map(|l| format!("{}: {}", l.name, l.ty))
                .collect();
            out.push_str(&format!("  variables: {}\n", locals.join(", ")));
        }
        let blocks: Vec<&str> = function
            .params
            .iter()
            .filter(|p| function.rows.get(&p.name) == Some(&crate::ir::typed::RowsRole::Rows))
            .map(|p| p.name.as_str())
            .collect();
        if !blocks.is_empty() {
            out.push_str(&format!(
                "  rows read as one block (only read, no list per row): {}\n",
                blocks.join(", ")
            ));
        }
        if !function.unordered_sets.is_empty() {
            let sets: Vec<&str> = function.unordered_sets.iter().map(String::as_str).collect();
            out.push_str(&format!(
                "  sets only asked about membership (a plain hash set, no Python order): {}\n",
                sets.join(", ")
            ));
        }
        let source = untyped
            .functions
            .iter()
            .find(|slot| slot.name == function.name)
            .and_then(|slot| slot.lowered.as_ref().ok());
        if let Some(source) = source {
            let mut notes = Vec::new();
            let callables: Vec<&str> = function
                .params
                .iter()
                .filter(|p| matches!(p.ty, Type::Callable(_)))
                .map(|p| p.name.as_str())
                .collect();
            let loops = facts
                .function(&function.rust_name)
                .map(|f| f.parallel.as_slice())
                .unwrap_or_default();
            let lanes = facts
                .function(&function.rust_name)
                .map(|f| f.lanes.as_slice())
                .unwrap_or_default();
            collect_notes(&source.body, &callables, (loops, lanes), &mut notes);
            notes.extend(source.notes.iter().cloned());
            notes.sort_by_key(|(span, _)| span.start);
            for (span, note) in notes {
                out.push_str(&format!("  line {}: {note}\n", line_of(&file.text, span)));
            }
        }
        if let Some(measure) = bounded.get(&function.rust_name) {
            out.push_str(&recursion_note(function, measure));
        }
        if speculative.contains(&function.rust_name) {
            out.push_str(
                "  recursion: runs speculatively first (scalars only, no effect but its \
                 result, no call but of itself): inlined into itself, without counted frames \
                 or exception messages; if that run raises or reaches the recursion limit or \
                 the end of the stack, the checked form runs the call again\n",
            );
        }
        whole_array_report(function, &mut out);
        if let Some(facts) = facts.function(&function.rust_name) {
            access_report(facts, &mut out);
            let (checked, proven) = facts.overflow_counts();
            if checked + proven > 0 {
                out.push_str(&format!(
                    "  int operations: {proven} of {} proven within 64 bits, \
                     {checked} checked for overflow\n",
                    checked + proven
                ));
            }
        }
    }
    out
}

/// How a function whose recursion a decreasing parameter bounds counts
/// its frames.
fn recursion_note(function: &typed::Function, measure: &crate::analysis::Measure) -> String {
    let name = function
        .params
        .get(measure.param)
        .map_or("?", |p| p.name.as_str());
    let extra = 2 - i128::from(measure.floor);
    let frames = match extra.cmp(&0) {
        std::cmp::Ordering::Equal => name.to_string(),
        std::cmp::Ordering::Greater => format!("{name} + {extra}"),
        std::cmp::Ordering::Less => format!("{name} - {}", -extra),
    };
    format!(
        "  recursion: every call of itself passes `{name}` decreased, and only where \
         {name} >= {floor}, so it runs at most {frames} frames deep: checked once against \
         the recursion limit when called from outside, frames then not counted\n",
        floor = measure.floor
    )
}

/// Per element access: whether its index check was removed, and why.
fn access_report(facts: &FunctionFacts, out: &mut String) {
    let mut lines: Vec<String> = Vec::new();
    for access in &facts.accesses {
        let kind = match access.kind {
            AccessKind::Read => "read",
            AccessKind::Write => "store",
        };
        let decision = match &access.decision {
            Decision::Proven(reason) => format!("check removed, in bounds because {reason}"),
            Decision::ProvenIf { reason, .. } => {
                format!("check hoisted, in bounds because {reason}")
            }
            Decision::Checked(reason) => format!("checked: {reason}"),
        };
        let line = format!("    {} ({kind}): {decision}\n", access.text);
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return;
    }
    let removed = facts
        .accesses
        .iter()
        .filter(|a| !matches!(a.decision, Decision::Checked(_)))
        .count();
    out.push_str(&format!(
        "  element accesses: {removed} of {} without an index check\n",
        facts.accesses.len()
    ));
    lines.iter().for_each(|line| out.push_str(line));
}

/// What a parallel loop shares and how.
fn parallel_note(plan: &Parallel) -> String {
    let mut parts = vec!["prange loop: parallel (iterations proven independent)".to_string()];
    if !plan.reductions.is_empty() {
        let reductions: Vec<String> = plan
            .reductions
            .iter()
            .map(|r| {
                let reordered = if r.ty.is_float_like()
                    && matches!(
                        r.op,
                        crate::analysis::parallel::ReductionOp::Add
                            | crate::analysis::parallel::ReductionOp::Mul
                    ) {
                    ", float: summed in a different order than the serial loop"
                } else {
                    ""
                };
                format!("`{}` ({}{reordered})", r.var, r.op.describe())
            })
            .collect();
        parts.push(format!("reductions {}", reductions.join(", ")));
    }
    if plan.calls_arguments {
        parts.push(
            "calls a function passed as an argument (serial when that is a Python function, which needs the GIL)"
                .to_string(),
        );
    }
    if !plan.private.is_empty() {
        let private: Vec<String> = plan.private.iter().map(|p| format!("`{p}`")).collect();
        parts.push(format!("private {}", private.join(", ")));
    }
    let names = |list: &[String]| -> String {
        list.iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !plan.shared_lists.is_empty() {
        parts.push(format!(
            "reads the lists {} (their elements lent to every thread)",
            names(&plan.shared_lists)
        ));
    }
    if !plan.histograms.is_empty() {
        parts.push(format!(
            "counts into {} (each chunk into a list of its own, added when all succeed)",
            names(&plan.histograms)
        ));
    }
    if !plan.collected.is_empty() {
        parts.push(format!(
            "appends to {} (each chunk to a list of its own, joined in order when all succeed)",
            names(&plan.collected)
        ));
    }
    if !plan.tallies.is_empty() {
        parts.push(format!(
            "counts into the dicts {} (each chunk into a dict of its own, added in order when \
             all succeed)",
            names(&plan.tallies)
        ));
    }
    if !plan.written.is_empty() {
        let written: Vec<String> = plan.written.iter().map(|p| format!("`{p}`")).collect();
        parts.push(format!(
            "stores into {} (serial when it shares memory with another array of the loop)",
            written.join(", ")
        ));
    }
    parts.join("; ")
}

/// Which accumulators a loop keeps in lanes.
fn lanes_note(lane_loop: &LaneLoop) -> String {
    let names: Vec<String> = lane_loop
        .accumulators
        .iter()
        .map(|a| {
            let kind = match a.extreme {
                Extreme::Min => "min",
                Extreme::Max => "max",
            };
            format!("`{}` ({kind})", a.name)
        })
        .collect();
    format!(
        "keeps {} in {} lanes each (no value is -0.0, so the lanes fold to the serial result)",
        names.join(", "),
        crate::analysis::lanes::WIDTH
    )
}

fn line_of(text: &str, span: Span) -> usize {
    let end = (span.start as usize).min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn collect_notes(
    stmts: &[untyped::Stmt],
    callables: &[&str],
    loops: (&[ParallelLoop], &[LaneLoop]),
    notes: &mut Vec<(Span, String)>,
) {
    let (loops, lanes) = loops;
    use untyped::StmtKind;
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::ForRange { body, parallel, .. } => {
                let plan = loops
                    .iter()
                    .find(|l| l.span.start == stmt.span.start)
                    .map(|l| &l.plan);
                let note = match (parallel, plan) {
                    (true, Some(Plan::Parallel(plan))) => parallel_note(plan),
                    (true, Some(Plan::Serial(reason))) => format!("prange loop: {reason}"),
                    (true, _) => "prange loop: rejected (see the error)".to_string(),
                    (false, Some(Plan::Auto(auto))) => {
                        let mut note = parallel_note(&auto.parallel).replacen(
                            "prange loop: parallel (iterations proven independent)",
                            "loop: parallel by itself (iterations proven independent, nothing \
                             in them can raise, no order-dependent reduction)",
                            1,
                        );
                        match &auto.work {
                            Some(work) => note.push_str(&format!(
                                "; from about {} operations on, its inner loops' trip counts \
                                 taken when it starts (less runs serially)",
                                work.min_work
                            )),
                            None => note.push_str(&format!(
                                "; from {} iterations on (fewer run serially)",
                                auto.min_iterations
                            )),
                        }
                        if auto.speculative {
                            note = note.replacen(
                                "nothing in them can raise, no order-dependent reduction",
                                "storing into no array: an attempt that keeps nothing when an \
                                 iteration raises or a sum overflows, and then runs serially",
                                1,
                            );
                        }
                        if !auto.needs_shapes.is_empty() || !auto.needs_layout.is_empty() {
                            note.push_str("; in the loop version whose tests pass");
                        }
                        note
                    }
                    (false, Some(Plan::Serial(reason))) => format!("loop: {reason}"),
                    (false, _) => "loop: serial (inside another loop)".to_string(),
                };
                let note = match lanes.iter().find(|l| l.span.start == stmt.span.start) {
                    Some(lane_loop) => format!("{note}; {}", lanes_note(lane_loop)),
                    None => note,
                };
                notes.push((stmt.span, note));
                collect_notes(body, callables, (loops, lanes), notes);
            }
            StmtKind::While { test, body } => {
                expr_notes(test, callables, notes);
                collect_notes(body, callables, (loops, lanes), notes);
            }
            StmtKind::If { test, body, orelse } => {
                expr_notes(test, callables, notes);
                collect_notes(body, callables, (loops, lanes), notes);
                collect_notes(orelse, callables, (loops, lanes), notes);
            }
            StmtKind::Assign { value, .. } | StmtKind::AugAssign { value, .. } => {
                expr_notes(value, callables, notes)
            }
            StmtKind::Return(Some(value)) | StmtKind::Expr(value) => {
                expr_notes(value, callables, notes)
            }
            _ => {}
        }
    }
}

fn expr_notes(expr: &untyped::Expr, callables: &[&str], notes: &mut Vec<(Span, String)>) {
    use untyped::ExprKind;
    match &expr.kind {
        ExprKind::Call {
            callee,
            args,
            keywords,
        } => {
            if let untyped::Callee::Local(name) = callee {
                if callables.contains(&name.as_str()) {
                    notes.push((
                        expr.span,
                        format!(
                            "`{name}(...)` calls a function argument: math and NumPy functions run natively \
                             in a kernel specialised for them, ferropy-compiled functions through their native \
                             entry point, both without the GIL; any other Python callable (a lambda, a plain \
                             Python function) takes the GIL on every call and is slow"
                        ),
                    ));
                }
            }
            args.iter().for_each(|a| expr_notes(a, callables, notes));
            keywords
                .iter()
                .for_each(|k| expr_notes(&k.value, callables, notes));
        }
        ExprKind::Binary { left, right, .. } => {
            expr_notes(left, callables, notes);
            expr_notes(right, callables, notes);
        }
        ExprKind::Unary { operand, .. } => expr_notes(operand, callables, notes),
        ExprKind::Compare { left, rest } => {
            expr_notes(left, callables, notes);
            rest.iter()
                .for_each(|(_, e)| expr_notes(e, callables, notes));
        }
        ExprKind::BoolOp { values, .. } | ExprKind::Tuple(values) => {
            values.iter().for_each(|v| expr_notes(v, callables, notes))
        }
        ExprKind::IfExp { test, body, orelse } => {
            expr_notes(test, callables, notes);
            expr_notes(body, callables, notes);
            expr_notes(orelse, callables, notes);
        }
        ExprKind::Index { value, indices } => {
            expr_notes(value, callables, notes);
            indices.iter().for_each(|i| expr_notes(i, callables, notes));
        }
        ExprKind::Attribute { value, .. } => expr_notes(value, callables, notes),
        ExprKind::Method { receiver, args, .. } => {
            expr_notes(receiver, callables, notes);
            args.iter().for_each(|a| expr_notes(a, callables, notes));
        }
        _ => {}
    }
}

/// Per whole-array expression: the one loop it compiles to.
fn whole_array_report(function: &typed::Function, out: &mut String) {
    use typed::{ExprKind, Stmt, Target};
    let mut lines = Vec::new();
    fn visit(expr: &typed::Expr, lines: &mut Vec<String>) {
        match &expr.kind {
            ExprKind::ElementWise { inputs, body } => {
                lines.push(format!(
                    "`{}`: one loop over {}, no temporary arrays",
                    render_elem(body, inputs),
                    arrays_text(inputs)
                ));
                inputs.iter().for_each(|i| visit(i, lines));
            }
            ExprKind::Reduce {
                op: typed::Reduction::Sum,
                axis: None,
                array,
                ..
            } if matches!(array.kind, ExprKind::ElementWise { .. }) => {
                if let ExprKind::ElementWise { inputs, body } = &array.kind {
                    lines.push(format!(
                        "`sum({})`: summed inside one loop over {}, no array made",
                        render_elem(body, inputs),
                        arrays_text(inputs)
                    ));
                    inputs.iter().for_each(|i| visit(i, lines));
                }
            }
            _ => expr.for_each_child(&mut |child| visit(child, lines)),
        }
    }
    fn block(stmts: &[Stmt], lines: &mut Vec<String>) {
        for stmt in stmts {
            match stmt {
                Stmt::Assign {
                    target: Target::View { view, .. },
                    value,
                } => {
                    let (inputs, text) = match &value.kind {
                        ExprKind::ElementWise { inputs, body } => {
                            (inputs.as_slice(), render_elem(body, inputs))
                        }
                        _ => (std::slice::from_ref(value), crate::analysis::render(value)),
                    };
                    if value.array_type().is_some() {
                        lines.push(format!(
                            "`{} = {text}`: one loop over {} storing into the view",
                            crate::analysis::render(view),
                            arrays_text(inputs)
                        ));
                    }
                    inputs.iter().for_each(|i| visit(i, lines));
                }
                other => other.for_each_expr(&mut |e| visit(e, lines)),
            }
            for body in stmt.nested() {
                block(body, lines);
            }
        }
    }
    block(&function.body, &mut lines);
    if lines.is_empty() {
        return;
    }
    out.push_str("  whole-array expressions:\n");
    for line in lines {
        out.push_str(&format!("    {line}\n"));
    }
}

fn arrays_text(inputs: &[typed::Expr]) -> String {
    let count = inputs.iter().filter(|i| i.array_type().is_some()).count();
    if count == 1 {
        "1 array".into()
    } else {
        format!("{count} arrays")
    }
}

/// An element-wise body in Python syntax, inputs by their source.
fn render_elem(elem: &typed::Elem, inputs: &[typed::Expr]) -> String {
    use typed::{ElemFunction, ElemKind};
    match &elem.kind {
        ElemKind::Input(k) => inputs
            .get(*k)
            .map_or_else(|| "?".into(), crate::analysis::render),
        ElemKind::Literal(typed::Literal::Int(v)) => v.to_string(),
        ElemKind::Literal(typed::Literal::Float(v)) => format!("{v:?}"),
        ElemKind::Literal(typed::Literal::Bool(v)) => if *v { "True" } else { "False" }.into(),
        ElemKind::Literal(typed::Literal::Str(text)) => crate::stub::python_string(text),
        ElemKind::Literal(typed::Literal::None) => "None".into(),
        ElemKind::Cast(inner) => render_elem(inner, inputs),
        ElemKind::Binary { op, left, right } => format!(
            "({} {} {})",
            render_elem(left, inputs),
            op.symbol(),
            render_elem(right, inputs)
        ),
        ElemKind::Neg(inner) => format!("-{}", render_elem(inner, inputs)),
        ElemKind::Invert(inner) => format!("~{}", render_elem(inner, inputs)),
        ElemKind::Compare { op, left, right } => {
            let symbol = match op {
                crate::ir::CompareOp::Eq => "==",
                crate::ir::CompareOp::NotEq => "!=",
                crate::ir::CompareOp::Lt => "<",
                crate::ir::CompareOp::LtE => "<=",
                crate::ir::CompareOp::Gt => ">",
                crate::ir::CompareOp::GtE => ">=",
            };
            format!(
                "({} {symbol} {})",
                render_elem(left, inputs),
                render_elem(right, inputs)
            )
        }
        ElemKind::Call { function, args } => {
            let name = match function {
                ElemFunction::FloatMethod(method) => crate::library::numpy::UFUNCS
                    .iter()
                    .find(|(_, u, _)| matches!(u, crate::library::numpy::Ufunc::Float(m) if m == method))
                    .map_or(*method, |(n, _, _)| *n),
                ElemFunction::Abs => "abs",
                ElemFunction::Sign => "sign",
                ElemFunction::Minimum => "minimum",
                ElemFunction::Maximum => "maximum",
                ElemFunction::IsNan => "isnan",
                ElemFunction::IsInf => "isinf",
                ElemFunction::IsFinite => "isfinite",
                ElemFunction::Truthy => "bool",
                ElemFunction::LogicalAnd => "logical_and",
                ElemFunction::LogicalOr => "logical_or",
                ElemFunction::LogicalXor => "logical_xor",
            };
            let args: Vec<String> = args.iter().map(|a| render_elem(a, inputs)).collect();
            format!("{name}({})", args.join(", "))
        }
        ElemKind::Where {
            condition,
            then,
            orelse,
        } => format!(
            "where({}, {}, {})",
            render_elem(condition, inputs),
            render_elem(then, inputs),
            render_elem(orelse, inputs)
        ),
    }
}
