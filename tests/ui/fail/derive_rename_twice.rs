#[derive(promstatic::LabelValue)]
enum Class {
    #[label(rename = "ok", rename = "fine")]
    Success,
    Failure,
}

fn main() {}
