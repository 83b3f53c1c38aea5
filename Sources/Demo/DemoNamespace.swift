/// CarteDemo: the main job a newcomer runs first (`carte demo`, issue 6; `../shared/specs/cli.md`).
///
/// The whole access flow on simulated cards, with no hardware and no daemon: three in-process simulated readers
/// (a pinpad reader for professionals, a contact reader for patients, a contactless reader for badges) and the
/// personas of `personas.json`:
///
/// 1. the pharmacist's CPS (`cps3-moreau-pharmacist`), PIN typed on the simulated pinpad, authenticated with the
///    certificate chain and CRLs of the test PKI;
/// 2. the family carte Vitale (`vitale2-bernard-family`): beneficiaries, INS-C of each (or why none), rights at
///    today's date;
/// 3. the physician's DESFire badge (`desfire-durand`) enrolled after her CPS authentication (`cps3-durand`), then
///    a tap re-authenticating her within the tap & go window;
/// 4. the revoked CPS (`cps3-roux-revoked`) refused with its reason;
/// 5. a summary with the virtual wire time and the wall time of each step.
///
/// The module only orchestrates and reports: every decision is made by the stack's own modules (Vitale, INS,
/// CPS, Authentication, Badges). `DemoRunner` runs the flow and streams `DemoEvent`s; `DemoTextRenderer` and
/// `DemoJSON` turn its `DemoReport` into text for people or one JSON document.
public enum CarteDemoModule {}
