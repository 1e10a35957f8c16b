//! The board's aggregation: cells, attempts and times, the current exercise, stuck
//! detection against an injected clock, and the class's most common failing criteria.

use super::*;
use crate::checks::Criterion;

const MIN: i64 = 60_000;

fn crit(name: &str, status: Status, message: &str) -> Criterion {
    Criterion { name: name.into(), status, message: message.into(), hint: None, diagnosis: None }
}

fn row(student: i64, exercise: &str, status: Status, criteria: Vec<Criterion>, at_min: i64) -> HistoryRow {
    HistoryRow { student: StudentId(student), exercise: exercise.into(), status, criteria, checked_at_ms: at_min * MIN }
}

fn input(history: &[HistoryRow], now_min: i64) -> BoardInput<'_> {
    BoardInput {
        exercises: vec![("scale-demo".into(), "Scale the demo".into()), ("wolf3d".into(), "Wolf3D".into())],
        steps: HashMap::from([("deploy".to_owned(), "Deploy an app".to_owned())]),
        students: [(1, "Ann"), (2, "Bob"), (3, "Cy")]
            .into_iter()
            .map(|(id, name)| StudentInput { id: StudentId(id), name: name.into(), stack: None, last_step: (id == 1).then(|| StepVisit { student: StudentId(1), step: "deploy".into(), at_ms: 3 * MIN }) })
            .collect(),
        history,
        now_ms: now_min * MIN,
        stuck_after_ms: STUCK_AFTER_MS,
    }
}

fn host() -> Criterion {
    crit("network", Status::Failed, "network is HOST, not BRIDGE")
}

#[test]
fn cells_count_distinct_failures_before_the_first_pass_and_time_it_took() {
    let history = vec![
        row(1, "scale-demo", Status::Failed, vec![crit("instances", Status::Failed, "1 of 3")], 0),
        row(1, "scale-demo", Status::Failed, vec![crit("instances", Status::Failed, "2 of 3")], 2),
        row(1, "scale-demo", Status::Pending, vec![crit("instances", Status::Pending, "deploying")], 3),
        row(1, "scale-demo", Status::Passed, vec![crit("instances", Status::Passed, "3 of 3")], 4),
        row(1, "scale-demo", Status::Failed, vec![crit("instances", Status::Failed, "1 of 3")], 6),
    ];
    let board = Board::compute(&input(&history, 10));
    let ann = board.row(StudentId(1)).unwrap();
    let c = &ann.cells[0];
    assert_eq!((c.status, c.attempts, c.first_passed_ms, c.time_spent_ms), (CellStatus::Failed, 2, Some(4 * MIN), Some(4 * MIN)), "{c:?}");
    assert_eq!(ann.cells[1].status, CellStatus::NotStarted);
    assert_eq!(ann.step.as_deref(), Some("Deploy an app"), "the step's title");
    assert_eq!(ann.last_activity_ms, Some(6 * MIN));
    assert_eq!(board.exercises[0].passed, 0, "a pass undone by a later failure is not counted");
    assert_eq!(board.row(StudentId(2)).unwrap().step, None, "no visit: no step, not a guess");
}

#[test]
fn a_student_failing_the_same_criterion_past_the_threshold_is_stuck() {
    let history = vec![
        row(1, "scale-demo", Status::Passed, vec![], 0),
        row(1, "wolf3d", Status::Failed, vec![crit("image", Status::Failed, "no image")], 1),
        row(1, "wolf3d", Status::Failed, vec![host()], 2),
        // Another criterion changes; the network one keeps failing: still the same streak.
        row(1, "wolf3d", Status::Failed, vec![host(), crit("ports", Status::Failed, "no port")], 5),
        row(2, "wolf3d", Status::Failed, vec![host()], 9),
    ];
    let at = |now| Board::compute(&input(&history, now));
    assert_eq!(at(11).row(StudentId(1)).unwrap().stuck, None, "9 minutes is under the threshold");
    let board = at(12);
    let ann = board.row(StudentId(1)).unwrap();
    let stuck = ann.stuck.as_ref().expect("10 minutes on network");
    assert_eq!((stuck.criterion.as_str(), stuck.since_ms, stuck.for_ms), ("network", 2 * MIN, 10 * MIN));
    assert_eq!((ann.current.as_deref(), ann.on_current_ms, ann.passed), (Some("wolf3d"), Some(11 * MIN), 1));
    assert_eq!(board.row(StudentId(2)).unwrap().stuck, None, "Bob started later");
    assert_eq!(at(19).row(StudentId(2)).unwrap().stuck.as_ref().map(|s| s.for_ms), Some(10 * MIN));
}

#[test]
fn columns_name_the_most_common_failing_criteria_across_the_class() {
    let history = vec![
        row(1, "wolf3d", Status::Failed, vec![host(), crit("ports", Status::Failed, "no port")], 1),
        row(2, "wolf3d", Status::Failed, vec![host()], 2),
        row(3, "wolf3d", Status::Failed, vec![crit("network", Status::Failed, "network is USER")], 3),
        row(3, "scale-demo", Status::Passed, vec![], 3),
        row(1, "scale-demo", Status::Passed, vec![], 4),
    ];
    let board = Board::compute(&input(&history, 5));
    let wolf = &board.exercises[1];
    assert_eq!((wolf.passed, wolf.total), (0, 3));
    assert_eq!(wolf.failing[0], CommonFailure { criterion: "network".into(), message: "network is HOST, not BRIDGE".into(), students: 3 });
    assert_eq!(wolf.failing[1].criterion, "ports");
    assert_eq!((board.exercises[0].passed, board.exercises[0].failing.len()), (2, 0));
}

#[test]
fn durations_are_short() {
    assert_eq!([short_duration(45_000), short_duration(12 * MIN), short_duration(65 * MIN)], ["45s", "12m", "1h05m"]);
}

#[test]
fn a_diagnosis_that_comes_and_goes_is_not_another_attempt_and_the_latest_is_shown() {
    let why = |text: &str| Criterion { diagnosis: Some(text.into()), ..host() };
    let history = vec![
        row(1, "wolf3d", Status::Failed, vec![host()], 0),
        row(1, "wolf3d", Status::Failed, vec![why("the image cannot be pulled")], 1),
        row(1, "wolf3d", Status::Failed, vec![why("the task exits at once")], 2),
        row(1, "wolf3d", Status::Failed, vec![crit("network", Status::Failed, "network is USER")], 3),
        row(1, "wolf3d", Status::Failed, vec![Criterion { diagnosis: Some("the task exits at once".into()), ..host() }], 4),
    ];
    let board = Board::compute(&input(&history, 20));
    let ann = board.row(StudentId(1)).unwrap();
    assert_eq!(ann.cells[1].attempts, 2, "HOST and USER are two attempts; diagnoses alone are not: {:?}", ann.cells[1]);
    let stuck = ann.stuck.as_ref().expect("stuck on network");
    assert_eq!(stuck.diagnosis.as_deref(), Some("the task exits at once"));
}
